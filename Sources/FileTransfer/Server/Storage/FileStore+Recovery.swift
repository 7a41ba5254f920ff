#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

extension FileStore {
    /// Rebuilds the open uploads from the staging area (at start, so uploads can be
    /// resumed after a restart).
    ///
    /// - `<id>.meta` + `<id>.part`: reloaded with the ranges the metadata claims
    ///   (durable by construction). Its last activity is taken from the files'
    ///   modification times, so long-idle uploads still expire on time.
    /// - `<id>.meta` without a part (committed, or lost) or unreadable: removed.
    /// - `<id>.part` without metadata (crash while opening): removed.
    /// - `*.meta.tmp` (crash while persisting): removed.
    /// - Two uploads of one path: the newer is kept.
    func reloadPartialUploads() throws(FileStoreError) {
        let names: [String]
        do {
            names = try StorageIO.directoryEntries(stagingDirectory)
        } catch {
            throw .storage(error, while: "listing the staging area")
        }
        var metaIDs: [String] = []
        var partIDs = Set<String>()
        for name in names {
            if name.hasSuffix(".meta.tmp") {
                removeStagingFile(name, reason: "interrupted metadata update")
            } else if name.hasSuffix(".meta"), Self.isUploadID(String(name.dropLast(5))) {
                metaIDs.append(String(name.dropLast(5)))
            } else if name.hasSuffix(".part"), Self.isUploadID(String(name.dropLast(5))) {
                partIDs.insert(String(name.dropLast(5)))
            } else {
                logger.warning("ignoring unknown file in the staging area", metadata: ["file": "\(name)"])
            }
        }

        var byPath: [String: PartialUpload] = [:]
        for id in metaIDs.sorted() {
            let hasPart = partIDs.remove(id) != nil
            guard let upload = reloadUpload(id: id, hasPart: hasPart) else { continue }
            if let other = byPath[upload.absolutePath] {
                let (keep, drop) = other.created >= upload.created ? (other, upload) : (upload, other)
                _ = try? drop.close()
                removeFiles(of: drop, reason: "a newer upload of the same path exists")
                byPath[upload.absolutePath] = keep
            } else {
                byPath[upload.absolutePath] = upload
            }
        }
        for id in partIDs {
            removeStagingFile(id + ".part", reason: "staging data without metadata")
        }
        let reloaded = Array(byPath.values)
        state.withLock { state in
            for upload in reloaded {
                state.insert(upload)
            }
        }
        if !reloaded.isEmpty {
            logger.info("reloaded partial uploads", metadata: ["count": "\(reloaded.count)"])
        }
    }

    private func reloadUpload(id: String, hasPart: Bool) -> PartialUpload? {
        let metaPath = UploadMetadata.metaPath(id: id, in: stagingDirectory)
        let partPath = UploadMetadata.partPath(id: id, in: stagingDirectory)
        func discard(_ reason: String) -> PartialUpload? {
            logger.warning("discarding partial upload", metadata: ["upload": "\(id)", "reason": "\(reason)"])
            try? StorageIO.removeFile(metaPath)
            try? StorageIO.removeFile(partPath)
            return nil
        }
        guard let meta = UploadMetadata.read(from: metaPath), meta.id == id,
              meta.version == UploadMetadata.currentVersion, meta.size >= 0
        else { return discard("unreadable metadata") }
        guard hasPart else { return discard("its data file is missing (committed or lost)") }
        guard let target = try? validator.validate(meta.path) else {
            return discard("its path \"\(meta.path)\" is no longer valid")
        }
        var ranges = RangeSet(flattened: meta.ranges) ?? RangeSet()
        if !ranges.isSubset(of: RangeSet([0..<meta.size])) {
            ranges = RangeSet()
        }
        let fd: Int32
        do {
            fd = try StorageIO.openFile(partPath, flags: O_RDWR)
        } catch {
            return discard("its data file cannot be opened: \(error.message)")
        }
        let status: stat
        do {
            status = try StorageIO.fileStatus(fd, path: partPath)
            if Int64(status.st_size) != meta.size {
                // Not what open created: nothing in it can be trusted.
                ranges = RangeSet()
                try StorageIO.truncate(fd, to: meta.size, path: partPath)
            }
        } catch {
            StorageIO.closeFile(fd)
            return discard("its data file cannot be used: \(error.message)")
        }
        var lastChange = StorageIO.modificationSeconds(status)
        if let metaStatus = try? StorageIO.pathStatus(metaPath) {
            lastChange = max(lastChange, StorageIO.modificationSeconds(metaStatus))
        }
        let idleSeconds = max(0, Self.wallClockSeconds() - lastChange)
        return PartialUpload(
            id: id, path: target.relative, absolutePath: target.absolute, size: meta.size,
            created: meta.created, overwrite: meta.overwrite, stagingDirectory: stagingDirectory,
            fd: fd, durableRanges: ranges, lastActivity: .now - .seconds(idleSeconds))
    }

    private func removeStagingFile(_ name: String, reason: String) {
        logger.warning("removing staging file", metadata: ["file": "\(name)", "reason": "\(reason)"])
        try? StorageIO.removeFile(stagingDirectory + "/" + name)
    }
}
