// swift-tools-version:6.0
import PackageDescription

let package = Package(
    name: "Floe",
    platforms: [.macOS(.v14)],
    products: [
        .library(name: "Ice", targets: ["Ice"]),
        .library(name: "FileTransfer", targets: ["FileTransfer"]),
        .executable(name: "ftserver", targets: ["ftserver"]),
        .executable(name: "ftclient", targets: ["ftclient"]),
        .executable(name: "icebench", targets: ["icebench"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-crypto.git", from: "3.12.3"),
        .package(url: "https://github.com/adam-fowler/compress-nio.git", from: "1.5.0"),
    ],
    targets: [
        .systemLibrary(name: "CBZip2", path: "Sources/CBZip2"),
        .systemLibrary(name: "CMalloc", path: "Sources/CMalloc"),
        .target(name: "CXXH3", path: "Sources/CXXH3"),
        .target(
            name: "Ice",
            dependencies: [
                "CBZip2",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .target(
            name: "FileTransfer",
            dependencies: [
                "Ice",
                "CXXH3",
                .target(name: "CMalloc", condition: .when(platforms: [.linux])),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "CompressNIO", package: "compress-nio"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .executableTarget(
            name: "ftserver",
            dependencies: [
                "FileTransfer", "Ice",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .executableTarget(
            name: "ftclient",
            dependencies: [
                "FileTransfer", "Ice",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .executableTarget(
            name: "icebench",
            dependencies: [
                "Ice",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        .testTarget(name: "IceTests", dependencies: ["Ice", .product(name: "NIOCore", package: "swift-nio"), .product(name: "NIOEmbedded", package: "swift-nio")]),
        .testTarget(name: "IceInteropTests", dependencies: ["Ice", .product(name: "NIOCore", package: "swift-nio")]),
        .testTarget(name: "FileTransferTests", dependencies: ["FileTransfer", "Ice", .product(name: "NIOCore", package: "swift-nio"), .product(name: "NIOConcurrencyHelpers", package: "swift-nio")]),
    ]
)
