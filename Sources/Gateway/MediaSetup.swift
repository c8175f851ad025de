import Config
import Codecs
import Foundation
import Media
import SecureMedia

/// The media engine a gateway runs, from the `media` section of the configuration.
extension MediaConfig {
    /// Reads the files it names (the hold music); errors name the file.
    public func engineConfiguration() throws -> MediaEngine.Configuration {
        var configuration = MediaEngine.Configuration()
        configuration.bindHost = bindAddress
        configuration.announcedAddress = publicAddress
        configuration.portRange = rtpPorts
        configuration.session.symmetricRTP = symmetricRTP
        configuration.session.detectInbandDTMF = inbandDTMF
        configuration.session.rtcpInterval = Double(rtcpIntervalSeconds)
        configuration.session.consentTimeout = Double(consentTimeoutSeconds)
        configuration.session.connectTimeout = Double(consentTimeoutSeconds)
        var opus = OpusEncoderConfiguration()
        opus.complexity = Int32(self.opus.complexity)
        opus.inbandFEC = self.opus.inbandFEC
        opus.dtx = self.opus.dtx
        opus.packetLossPercent = Int32(self.opus.packetLossPercent)
        configuration.session.opus = opus
        if let holdMusic {
            do {
                configuration.session.holdMusic = try HoldMusic(wavFile: holdMusic)
            } catch {
                throw MediaSetupError("media.hold_music: \(error)")
            }
        }
        return configuration
    }

    /// The certificate from `dtls_certificate`/`dtls_private_key`, or a new
    /// one for this run. Errors name the file.
    public func loadDTLSCertificate() throws -> DTLSCertificate {
        guard let certificatePath = dtlsCertificate, let keyPath = dtlsPrivateKey else {
            return try DTLSCertificate.generate()
        }
        func read(_ path: String) throws -> String {
            do {
                return try String(contentsOfFile: path, encoding: .utf8)
            } catch {
                throw MediaSetupError("cannot read \(path): \(error.localizedDescription)")
            }
        }
        do {
            return try DTLSCertificate.load(certificatePEM: read(certificatePath), privateKeyPEM: read(keyPath))
        } catch let error as DTLSError {
            throw MediaSetupError("\(certificatePath): \(error)")
        }
    }
}

public struct MediaSetupError: Error, CustomStringConvertible {
    public var description: String
    init(_ description: String) { self.description = description }
}
