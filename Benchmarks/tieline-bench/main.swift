import Foundation
import SIP

// `make bench`: figures printed, medians of repeated runs, because this
// machine is shared and noisy. Nothing here is asserted in unit tests.

let arguments = CommandLine.arguments.dropFirst()
let which = Set(arguments.isEmpty ? ["parse", "dialplan", "media", "bridge", "cps", "relay", "browser"] : Array(arguments))

if which.contains("parse") { ParseBenchmark.run() }
if which.contains("dialplan") { DialplanBenchmark.run() }
if which.contains("media") { MediaCostBenchmark.run() }
if which.contains("bridge") { BridgeBenchmark.run() }
if which.contains("cps") { CallsPerSecondBenchmark.run() }
if which.contains("relay") { RelayBenchmark.run() }
if which.contains("browser") { await BrowserCallsBenchmark.run() }
