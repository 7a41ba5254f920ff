#if canImport(CMalloc)
import CMalloc
#endif

/// Process-wide allocator setting for programs that move data in large chunks.
public enum LargeBufferAllocation {
    /// Makes every allocation of 128 KiB or more its own mapping, returned to the system when
    /// freed. glibc otherwise raises its mmap threshold after the first such free, and large
    /// buffers then pile up in per-thread arenas that never shrink (measured on ftserver with 16
    /// clients × 256 KiB chunks: peak RSS 135 MiB with the default, 55 MiB with this). Inbound
    /// messages do not pay the page faults this costs: the runtime reuses their buffers from a
    /// pool; what remains are occasional large allocations such as inflated chunks. ftserver
    /// uses it (its memory must stay bounded whatever clients do); ftclient does not need it.
    /// Call once at start, before other threads allocate.
    public static func useSeparateMappings(threshold: Int32 = 128 * 1024) {
        #if canImport(CMalloc)
        _ = mallopt(M_MMAP_THRESHOLD, threshold)
        #endif
    }
}
