import Foundation
import HTTPTypes
import Hummingbird

/// The web phone's files, read once from the target's resources: they are
/// small, and serving from memory needs no file access per request.
struct WebPhoneFiles: Sendable {
    struct File: Sendable {
        var contentType: String
        var body: ByteBuffer
    }

    let files: [String: File]

    static let manifest: [(name: String, contentType: String)] = [
        ("index.html", "text/html; charset=utf-8"),
        ("phone.js", "text/javascript; charset=utf-8"),
        ("phone.css", "text/css; charset=utf-8"),
    ]

    static func load() throws -> WebPhoneFiles {
        var files: [String: File] = [:]
        for entry in manifest {
            guard let url = Bundle.module.url(forResource: entry.name, withExtension: nil, subdirectory: "WebPhone"),
                  let data = try? Data(contentsOf: url) else {
                throw SignalingServerError.missingWebPhone(entry.name)
            }
            files[entry.name] = File(contentType: entry.contentType, body: ByteBuffer(bytes: data))
        }
        return WebPhoneFiles(files: files)
    }

    func router() -> Router<BasicRequestContext> {
        let router = Router()
        router.get("/healthz") { _, _ -> Response in
            Response(status: .ok, headers: [.contentType: "text/plain; charset=utf-8", .cacheControl: "no-store"],
                     body: .init(byteBuffer: ByteBuffer(string: "ok\n")))
        }
        router.get("/") { _, _ in serve("index.html") }
        for entry in Self.manifest {
            router.get("/\(entry.name)") { _, _ in serve(entry.name) }
        }
        return router
    }

    private func serve(_ name: String) -> Response {
        guard let file = files[name] else { return Response(status: .notFound) }
        var headers: HTTPFields = [
            .contentType: file.contentType,
            .cacheControl: "no-cache",
            .init("X-Content-Type-Options")!: "nosniff",
            .init("Referrer-Policy")!: "no-referrer",
        ]
        // The page talks only to its own origin: scripts, styles and the WebSocket.
        headers[.contentSecurityPolicy] = "default-src 'self'; connect-src 'self'; img-src 'self' data:; "
            + "media-src 'self' blob: mediastream:; frame-ancestors 'none'"
        return Response(status: .ok, headers: headers, body: .init(byteBuffer: file.body))
    }
}
