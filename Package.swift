// swift-tools-version:6.2
import PackageDescription

/// The six OneStop services. Each is a library with its logic (`<Name>Service`, testable
/// in-process) and a tiny executable (`<name>`) that only boots it.
let services = ["Gateway", "Intake", "Review", "Routing", "Notification", "Complaints"]

let swiftSettings: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
]

let nio = Target.Dependency.product(name: "NIOCore", package: "swift-nio")
let nioPosix = Target.Dependency.product(name: "NIOPosix", package: "swift-nio")
let logging = Target.Dependency.product(name: "Logging", package: "swift-log")
let metrics = Target.Dependency.product(name: "Metrics", package: "swift-metrics")
let nioSSL = Target.Dependency.product(name: "NIOSSL", package: "swift-nio-ssl")
let nioTLS = Target.Dependency.product(name: "NIOTLS", package: "swift-nio")

var targets: [Target] = [
    // MARK: Shared libraries
    .systemLibrary(
        name: "CLibPQ",
        path: "Shared/CLibPQ",
        pkgConfig: "libpq",
        providers: [.apt(["libpq-dev"])]
    ),
    .systemLibrary(
        name: "CLibCurl",
        path: "Shared/CLibCurl",
        pkgConfig: "libcurl",
        providers: [.apt(["libcurl4-openssl-dev"])]
    ),
    .target(
        name: "Identity",
        path: "Shared/Identity",
        swiftSettings: swiftSettings
    ),
    .target(
        name: "Sealing",
        dependencies: [.product(name: "Crypto", package: "swift-crypto")],
        path: "Shared/Sealing",
        swiftSettings: swiftSettings
    ),
    .target(
        name: "JSONCoding",
        path: "Shared/JSON",
        swiftSettings: swiftSettings
    ),
    .target(
        name: "LineProtocol",
        dependencies: ["JSONCoding", nio, nioPosix, nioSSL, nioTLS, logging, metrics],
        path: "Shared/LineProtocol",
        swiftSettings: swiftSettings
    ),
    .target(
        name: "Postgres",
        dependencies: ["CLibPQ", logging],
        path: "Shared/Postgres",
        swiftSettings: swiftSettings
    ),
    .target(
        name: "Contracts",
        dependencies: ["LineProtocol"],
        path: "Shared/Contracts",
        swiftSettings: swiftSettings
    ),
    .target(
        name: "Messaging",
        dependencies: [
            "Postgres", "LineProtocol", "JSONCoding", logging, metrics,
            .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
        ],
        path: "Shared/Messaging",
        resources: [.copy("Migrations")],
        swiftSettings: swiftSettings
    ),
    .target(
        name: "ServiceKit",
        dependencies: [
            "LineProtocol", "Postgres", "Messaging", "Contracts", "JSONCoding", logging, metrics,
            .product(name: "Prometheus", package: "swift-prometheus"),
            .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            .product(name: "UnixSignals", package: "swift-service-lifecycle"),
            .product(name: "Hummingbird", package: "hummingbird"),
        ],
        path: "Shared/ServiceKit",
        resources: [.copy("Calendars")],
        swiftSettings: swiftSettings
    ),
    .target(
        name: "RPCTesting",
        dependencies: ["LineProtocol", nio, nioPosix, nioSSL],
        path: "Shared/RPCTesting",
        swiftSettings: swiftSettings
    ),
    .target(
        name: "TestSupport",
        dependencies: ["LineProtocol", "Postgres", "Messaging", "JSONCoding", "ServiceKit", logging, nio, nioPosix],
        path: "Shared/TestSupport",
        swiftSettings: swiftSettings
    ),
    // The whole system as separate processes driven through the gateway: end-to-end tests and
    // the system benchmarks start it the same way.
    .target(
        name: "SystemHarness",
        dependencies: [
            "TestSupport", "RPCTesting", "JSONCoding", "Contracts", "Postgres", logging, nio, nioPosix,
            .product(name: "NIOHTTP1", package: "swift-nio"),
        ],
        path: "Shared/SystemHarness",
        swiftSettings: swiftSettings
    ),

    // MARK: Tests
    .testTarget(name: "JSONCodingTests", dependencies: ["JSONCoding"], swiftSettings: swiftSettings),
    .testTarget(
        name: "LineProtocolTests",
        dependencies: ["LineProtocol", "Contracts", "JSONCoding", "RPCTesting", nio, nioPosix],
        swiftSettings: swiftSettings
    ),
    .testTarget(name: "PostgresTests", dependencies: ["Postgres", "TestSupport"], swiftSettings: swiftSettings),
    .testTarget(
        name: "ServiceKitTests",
        dependencies: ["ServiceKit", "TestSupport", "RPCTesting", "LineProtocol", "Contracts", "Postgres"]
            + services.map { .init(stringLiteral: "\($0)Service") },
        swiftSettings: swiftSettings
    ),

    .testTarget(
        name: "MessagingTests",
        dependencies: ["Messaging", "Postgres", "LineProtocol", "JSONCoding", "TestSupport", logging],
        swiftSettings: swiftSettings
    ),
    .testTarget(
        name: "EndToEndTests",
        dependencies: ["SystemHarness", "TestSupport", "RPCTesting", "JSONCoding", "Contracts", "Postgres", logging],
        path: "Tests/EndToEnd",
        swiftSettings: swiftSettings
    ),
    .testTarget(
        name: "SystemHarnessTests",
        dependencies: ["SystemHarness", nio, nioPosix],
        swiftSettings: swiftSettings
    ),
    // The chaos run, long version (`make chaos`); the short one is an end-to-end test.
    .executableTarget(
        name: "onestop-chaos",
        dependencies: ["SystemHarness", .product(name: "ArgumentParser", package: "swift-argument-parser")],
        path: "Tests/Chaos",
        swiftSettings: swiftSettings
    ),
    .executableTarget(
        name: "messaging-probe",
        dependencies: [
            "Messaging", "Postgres", "LineProtocol", "JSONCoding", "TestSupport", logging,
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
            .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            .product(name: "UnixSignals", package: "swift-service-lifecycle"),
        ],
        path: "Tests/MessagingProbe",
        swiftSettings: swiftSettings
    ),

    // MARK: Benchmarks (release builds: `swift run -c release onestop-bench protocol`)
    .executableTarget(
        name: "onestop-bench",
        dependencies: [
            "LineProtocol", "Contracts", "JSONCoding", nio, nioPosix, logging,
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ],
        path: "Tests/Benchmarks/Protocol",
        swiftSettings: swiftSettings
    ),
]

targets.append(
    .executableTarget(
        name: "onestop-ops",
        dependencies: [
            "Messaging", "Postgres", "Contracts", logging,
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ],
        path: "Services/Ops",
        swiftSettings: swiftSettings
    )
)

/// Data files a service loads at start (catalog, templates, rules), beside its migrations.
let serviceResources: [String: [Resource]] = [
    "Intake": [.copy("Catalog")],
    "Review": [.copy("Rules")],
    "Notification": [.copy("Templates")],
    "Complaints": [.copy("Rules")],
    "Routing": [.copy("Organisation")],
]

/// What a service library needs beyond the common kit.
let serviceExtras: [String: [Target.Dependency]] = [
    "Gateway": [
        .product(name: "Hummingbird", package: "hummingbird"),
        .product(name: "HummingbirdCore", package: "hummingbird"),
        .product(name: "HummingbirdTLS", package: "hummingbird"),
        .product(name: "HTTPTypes", package: "swift-http-types"),
        .product(name: "NIOPosix", package: "swift-nio"),
        .product(name: "NIOHTTPTypes", package: "swift-nio-extras"),
        .product(name: "Crypto", package: "swift-crypto"),
        .product(name: "_CryptoExtras", package: "swift-crypto"),
        .product(name: "NIOSSL", package: "swift-nio-ssl"),
        "Sealing",
    ],
    "Intake": ["Identity", "Sealing", .product(name: "Crypto", package: "swift-crypto")],
    "Review": ["Identity"],
    "Notification": ["CLibCurl", "Sealing"],
    "Complaints": ["Identity", "Sealing"],
]

/// Services whose tests live in `Tests/<Name>Tests`.
let servicesWithTests: Set<String> = ["Gateway", "Intake", "Review", "Routing", "Notification", "Complaints"]

for service in services {
    let common: [Target.Dependency] = [
        "ServiceKit", "Contracts", "LineProtocol", "Postgres", "Messaging", "JSONCoding", logging, metrics,
        .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
    ]
    targets.append(
        .target(
            name: "\(service)Service",
            dependencies: common + (serviceExtras[service] ?? []),
            path: "Services/\(service)/Service",
            resources: [.copy("Migrations")] + (serviceResources[service] ?? []),
            swiftSettings: swiftSettings
        )
    )
    targets.append(
        .executableTarget(
            name: service.lowercased(),
            dependencies: [.init(stringLiteral: "\(service)Service"), "ServiceKit"],
            path: "Services/\(service)/Main",
            swiftSettings: swiftSettings
        )
    )
    if servicesWithTests.contains(service) {
        targets.append(
            .testTarget(
                name: "\(service)Tests",
                dependencies: [
                    .init(stringLiteral: "\(service)Service"), "ServiceKit", "TestSupport", "RPCTesting",
                    "Contracts", "LineProtocol", "Postgres", "Messaging", "JSONCoding", logging, nio, nioPosix,
                ] + (serviceExtras[service] ?? []),
                swiftSettings: swiftSettings
            )
        )
    }
}

// Each of these folders under Tests/Benchmarks/ is a release-built benchmark
// `onestop-bench-<folder>` (e.g. `swift run -c release onestop-bench-review`). Listed, not read
// from the disk: SwiftPM caches the evaluated manifest, so a listing would go stale.
let benchmarkFolders = ["Complaints", "Gateway", "Intake", "Messaging", "Notification", "Review", "Routing"]
for folder in benchmarkFolders {
    targets.append(
        .executableTarget(
            name: "onestop-bench-\(folder.lowercased())",
            dependencies: [
                "ServiceKit", "TestSupport", "SystemHarness", "RPCTesting", "Contracts", "LineProtocol", "Postgres",
                "Messaging", "JSONCoding", logging, metrics, nio, nioPosix,
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ] + services.map { .init(stringLiteral: "\($0)Service") },
            path: "Tests/Benchmarks/\(folder)",
            swiftSettings: swiftSettings
        )
    )
}

let package = Package(
    name: "OneStop",
    platforms: [.macOS(.v15)],
    products: services.map { .executable(name: $0.lowercased(), targets: [$0.lowercased()]) }
        + [.executable(name: "onestop-ops", targets: ["onestop-ops"])]
        // For the benchmark package in Tests/Benchmarks/Compare, which depends on this one by path.
        + [.library(name: "LineProtocol", targets: ["LineProtocol"]), .library(name: "JSONCoding", targets: ["JSONCoding"])],
    dependencies: [
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-metrics", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1"),
        .package(url: "https://github.com/apple/swift-crypto", from: "3.12.3"),
        .package(url: "https://github.com/apple/swift-http-types", from: "1.8.0"),
        .package(url: "https://github.com/apple/swift-nio-extras", from: "1.35.2"),
        .package(url: "https://github.com/apple/swift-nio-ssl", from: "2.37.0"),
    ],
    targets: targets,
    swiftLanguageModes: [.v6]
)
