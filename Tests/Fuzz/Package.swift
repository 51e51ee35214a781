// swift-tools-version:6.2
import PackageDescription

// libFuzzer targets for what OneStop reads from the network: the line framing and JSON-RPC
// envelope of the internal protocol, the JSON parser, and HTTP requests as the gateway's server
// decodes them. A package of its own because everything it builds is instrumented
// (`-sanitize=fuzzer,address`) and unfit for anything but fuzzing. Run from the top with
// `make fuzz` (short) or `FUZZ_SECONDS=600 make fuzz` (long).
let package = Package(
    name: "OneStopFuzz",
    platforms: [.macOS(.v15)],
    dependencies: [
        .package(name: "OneStop", path: "../.."),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
    ],
    targets: [
        .target(name: "FuzzDriver"),
        .executableTarget(
            name: "fuzz-line-protocol",
            dependencies: [
                "FuzzDriver",
                .product(name: "LineProtocol", package: "OneStop"),
                .product(name: "JSONCoding", package: "OneStop"),
                .product(name: "NIOCore", package: "swift-nio"),
            ]
        ),
        .executableTarget(
            name: "fuzz-json",
            dependencies: ["FuzzDriver", .product(name: "JSONCoding", package: "OneStop")]
        ),
        .executableTarget(
            name: "fuzz-http-request",
            dependencies: [
                "FuzzDriver",
                .product(name: "JSONCoding", package: "OneStop"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOEmbedded", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ]
        ),
    ],
    swiftLanguageModes: [.v6]
)
