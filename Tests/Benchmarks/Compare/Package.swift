// swift-tools-version:6.2
import PackageDescription

// The line protocol against what a user would pick instead (gRPC Swift 2, Hummingbird 2), in a
// package of its own so the main build never resolves or compiles gRPC, HTTP/2 and TLS.
// Run from here: `swift run -c release onestop-compare` (or `make bench` at the top).
let package = Package(
    name: "OneStopCompare",
    platforms: [.macOS(.v15)],
    dependencies: [
        .package(name: "OneStop", path: "../../.."),
        .package(url: "https://github.com/grpc/grpc-swift-2", from: "2.4.3"),
        .package(url: "https://github.com/grpc/grpc-swift-nio-transport", from: "2.9.2"),
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
    ],
    targets: [
        .executableTarget(
            name: "onestop-compare",
            dependencies: [
                .product(name: "LineProtocol", package: "OneStop"),
                .product(name: "JSONCoding", package: "OneStop"),
                .product(name: "GRPCCore", package: "grpc-swift-2"),
                .product(name: "GRPCNIOTransportHTTP2Posix", package: "grpc-swift-nio-transport"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            swiftSettings: [.enableUpcomingFeature("ExistentialAny")]
        ),
    ],
    swiftLanguageModes: [.v6]
)
