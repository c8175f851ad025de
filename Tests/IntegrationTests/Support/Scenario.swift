import Foundation

/// The path of a sipp scenario shipped with the test target (the target's
/// `resources: [.copy("Scenarios")]`), by file name with or without ".xml":
/// `scenarioPath("uas_answer")`. A name with no file is a mistake in the
/// test, so it stops there with the list of what exists.
func scenarioPath(_ name: String) -> String {
    guard let directory = Bundle.module.url(forResource: "Scenarios", withExtension: nil) else {
        preconditionFailure("the test bundle has no Scenarios directory")
    }
    let file = directory.appendingPathComponent(name.hasSuffix(".xml") ? name : "\(name).xml")
    guard FileManager.default.fileExists(atPath: file.path) else {
        let known = (try? FileManager.default.contentsOfDirectory(atPath: directory.path))?.sorted() ?? []
        preconditionFailure("no scenario \(file.lastPathComponent); there are: \(known.joined(separator: ", "))")
    }
    return file.path
}
