import Foundation

/// Kamailio 5.6 (Debian's `kamailio`) as a real registrar and record-routing
/// proxy on loopback, the way a SIP provider runs one:
///
/// - REGISTER is challenged with digest (401, `qop="auth"` unless `qop` is
///   false) and the binding kept in memory (`usrloc` db_mode 0, no database):
///   passwords live in an htable the config fills at start-up.
/// - An INVITE to a registered AOR is retargeted by `lookup("location")`
///   (RFC 3261 §16.6 step 2): the Request-URI becomes the registered Contact,
///   `To` keeps what was dialled. A dialled DID (`dids`) is first mapped to
///   the AOR user that owns it, so a call to `+15550100` reaches whoever
///   registered as `tieline`, with only `To` saying `+15550100`.
/// - Initial INVITEs are challenged too (407, `challengeInvites`), then
///   record-routed (`Record-Route: <sip:127.0.0.1:PORT;lr=on;ftag=...>`);
///   in-dialog requests (ACK, re-INVITE, BYE) pass by `loose_route`.
/// - A number nobody registered goes to `gatewayPort` if given (a static
///   trunk to Tieline without registration), else 404.
///
/// The digest algorithm is one per instance: Kamailio 5.6 has only the
/// module parameter `auth.algorithm` ("MD5" or "SHA-256"), which sets the
/// challenge's `algorithm=` and the hash the response is checked with. There
/// is no per-request switch in 5.6 (no `auth_algorithm()` in the script), and
/// baresip 1.0 cannot answer SHA-256 ("Function not implemented"), so a
/// SHA-256 test starts its own instance for Tieline alone.
///
/// Every request and reply is logged (xlog, NOTICE) to stderr, which is the
/// `log` and what `diagnostics` shows; `waitForRegistration` and `waitForLog`
/// read it. Only 127.0.0.1 is used: no DNS (`dns=no`, `rev_dns=no`,
/// `auto_aliases=no`), no TLS.
final class KamailioProcess: ChildProcess, @unchecked Sendable {
    enum DigestAlgorithm: String, Sendable {
        case md5 = "MD5"
        case sha256 = "SHA-256"
    }

    /// UDP and TCP, both on 127.0.0.1.
    let port: Int
    /// The digest realm of every challenge.
    let realm: String
    let algorithm: DigestAlgorithm
    /// The rendered configuration, and Kamailio's runtime directory (`-Y`).
    let configDirectory: URL
    var configPath: String { configDirectory.appendingPathComponent("kamailio.cfg").path }
    /// `127.0.0.1:PORT`, for a trunk's `host` or a baresip registrar.
    var address: String { "127.0.0.1:\(port)" }

    /// Renders the config, starts Kamailio in the foreground (`-DD`: no
    /// daemon, its workers in our process group, so `terminate` kills them
    /// all) with logging to stderr (`-E`), and returns once its first worker
    /// has logged that it is ready and its ports are bound.
    ///
    /// - Parameters:
    ///   - users: authentication user => password, for REGISTER and INVITE.
    ///     A REGISTER must authenticate as its To user.
    ///   - dids: dialled number (Request-URI user, as the caller sends it,
    ///     e.g. "+15550100") => the AOR user it belongs to ("tieline").
    ///   - challengeInvites: 407 on initial INVITE/MESSAGE/SUBSCRIBE/REFER
    ///     until they carry credentials of any user in `users` (the From
    ///     user may differ from the authentication user).
    ///   - gatewayPort: where INVITEs to unregistered numbers go (127.0.0.1).
    static func start(users: [String: String], dids: [String: String] = [:],
                      algorithm: DigestAlgorithm = .md5, qop: Bool = true, challengeInvites: Bool = true,
                      gatewayPort: Int? = nil, realm: String = "tieline.test",
                      timeout: TimeInterval = 10) throws -> KamailioProcess {
        let configDirectory = FileManager.default.temporaryDirectory
            .appendingPathComponent("tieline-kamailio-config-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: configDirectory.appendingPathComponent("run"),
                                                withIntermediateDirectories: true)
        let port = try freeUDPAndTCPPort()
        let config = renderConfig(port: port, users: users, dids: dids, algorithm: algorithm, qop: qop,
                                  challengeInvites: challengeInvites, gatewayPort: gatewayPort, realm: realm)
        try config.write(to: configDirectory.appendingPathComponent("kamailio.cfg"), atomically: true, encoding: .utf8)
        let kamailio = try KamailioProcess(port: port, realm: realm, algorithm: algorithm,
                                           configDirectory: configDirectory)
        try kamailio.waitUntilReady(timeout: timeout)
        return kamailio
    }

    private init(port: Int, realm: String, algorithm: DigestAlgorithm, configDirectory: URL) throws {
        self.port = port
        self.realm = realm
        self.algorithm = algorithm
        self.configDirectory = configDirectory
        // -m/-M: 32 MB shared, 8 MB private memory per process, plenty here.
        try super.init(name: "kamailio", executable: try executablePath("kamailio"), arguments: [
            "-f", configDirectory.appendingPathComponent("kamailio.cfg").path, "-DD", "-E",
            "-m", "32", "-M", "8", "-Y", configDirectory.appendingPathComponent("run").path,
        ])
    }

    deinit {
        terminate()
        if ProcessInfo.processInfo.environment["TIELINE_KEEP_TEST_FILES"] == nil {
            try? FileManager.default.removeItem(at: configDirectory)
        }
    }

    /// Stops Kamailio and its workers. Its bindings die with it (memory
    /// only): a phone still running believes it is registered until it
    /// re-registers, so stop the phones first or start them again.
    func stop() { terminate() }

    /// Everything Kamailio logged (stderr): one NOTICE line per request
    /// ("request INVITE sip:... from 127.0.0.1:PORT (udp) to=sip:..."), per
    /// reply relayed ("reply 200 OK for INVITE from ..."), per binding saved
    /// ("registered sip:tieline@127.0.0.1:PORT contact <sip:...>", or
    /// "unregistered sip:..." for Expires 0), per
    /// retarget ("DID +15550100 belongs to tieline", "retargeted to sip:...")
    /// and per in-dialog hop ("in-dialog BYE via loose_route to sip:...").
    var log: String { read("stderr") }

    /// Until a REGISTER for `user` has been accepted (after `since`, a count
    /// of log characters, e.g. `log.count` taken before the action); returns
    /// the log line, which holds the Contact.
    @discardableResult
    func waitForRegistration(user: String, since offset: Int = 0, timeout: TimeInterval = 10) throws -> String {
        // ": " so that "unregistered sip:user@" (Expires 0) does not count.
        try waitForLog(containing: ": registered sip:\(user)@", since: offset, timeout: timeout)
    }

    /// Until a log line contains `text` (after the first `offset` characters);
    /// returns that line, or throws `.timedOut` with the diagnostics.
    @discardableResult
    func waitForLog(containing text: String, since offset: Int = 0, timeout: TimeInterval = 10) throws -> String {
        let deadline = Date().addingTimeInterval(timeout)
        while true {
            let current = log
            if current.count > offset {
                let tail = current.dropFirst(offset)
                if let line = tail.split(separator: "\n").first(where: { $0.contains(text) }) { return String(line) }
            }
            guard Date() < deadline else {
                throw ChildProcessError.timedOut("kamailio log line \"\(text)\"", diagnostics)
            }
            guard process.isRunning else { throw ChildProcessError.failed("kamailio", diagnostics) }
            Thread.sleep(forTimeInterval: 0.05)
        }
    }

    override var diagnostics: String {
        var text = "$ \(commandLine)\n" + statusLine + "config: \(configPath)\n"
        // The script's own lines first; Kamailio's INFO lines are mostly start-up.
        let script = log.split(separator: "\n").filter {
            $0.contains("<script>") || $0.contains("ERROR") || $0.contains("CRITICAL")
        }
        text += section("log", script.joined(separator: "\n"), 6000)
        text += section("stdout", read("stdout"), 1000)
        return text
    }

    /// Until the first worker logged "kamailio ready" (event_route
    /// core:worker-one-init) and the UDP and TCP ports are bound. A config
    /// error ends Kamailio at once with the reason on stderr.
    private func waitUntilReady(timeout: TimeInterval) throws {
        let deadline = Date().addingTimeInterval(timeout)
        while !(log.contains(Self.readyLine) && isPortBound(port, udp: true) && isTCPListening(port)) {
            guard process.isRunning else { throw ChildProcessError.failed("kamailio", diagnostics) }
            guard Date() < deadline else {
                terminate()
                throw ChildProcessError.timedOut("kamailio start-up", diagnostics)
            }
            Thread.sleep(forTimeInterval: 0.05)
        }
    }

    private static let readyLine = "tieline-test: kamailio ready"

    /// The template with its @PLACEHOLDERS@ filled in. Values go into
    /// double-quoted Kamailio strings, so `"` and `\` are escaped.
    static func renderConfig(port: Int, users: [String: String], dids: [String: String], algorithm: DigestAlgorithm,
                             qop: Bool, challengeInvites: Bool, gatewayPort: Int?, realm: String) -> String {
        func quoted(_ value: String) -> String {
            "\"" + value.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"") + "\""
        }
        var defines: [String] = []
        if challengeInvites { defines.append("#!define CHALLENGE_INVITES") }
        if let gatewayPort { defines.append("#!define GATEWAY_PORT \(gatewayPort)") }
        // Keys are htable names inside $sht(table=>KEY): no quoting there,
        // so user names and numbers must be plain (letters, digits, + - _ .).
        var tables = users.sorted { $0.key < $1.key }.map { "\t$sht(users=>\($0.key)) = \(quoted($0.value));" }
        tables += dids.sorted { $0.key < $1.key }.map { "\t$sht(dids=>\($0.key)) = \(quoted($0.value));" }
        return template
            .replacingOccurrences(of: "@DEFINES@", with: defines.joined(separator: "\n"))
            .replacingOccurrences(of: "@TABLES@", with: tables.joined(separator: "\n"))
            .replacingOccurrences(of: "@PORT@", with: String(port))
            .replacingOccurrences(of: "@ALGORITHM@", with: algorithm.rawValue)
            .replacingOccurrences(of: "@QOPFLAGS@", with: qop ? "1" : "0")
            .replacingOccurrences(of: "@REALM@", with: realm)
    }

    /// The configuration, verified by hand against Kamailio 5.6.3 with sipp
    /// (register with digest, call to a DID through the retarget, re-INVITE
    /// and BYE along the route set) and baresip 1.0. Raw string: the `\n`
    /// in xlog formats are Kamailio's, not Swift's.
    static let template = #"""
#!KAMAILIO
@DEFINES@
# Tieline integration tests: Kamailio as registrar and record-routing proxy
# on loopback, digest authentication without a database (passwords in an
# htable filled at start-up), no DNS, no TLS.

debug=2
log_stderror=yes
fork=yes
children=2
tcp_children=2
auto_aliases=no
dns=no
rev_dns=no
dns_try_ipv6=no
use_dns_cache=off
dns_srv_lb=no
dns_try_naptr=no
server_header="Server: kamailio (tieline-test)"
user_agent_header="User-Agent: kamailio (tieline-test)"

listen=udp:127.0.0.1:@PORT@
listen=tcp:127.0.0.1:@PORT@
alias="127.0.0.1:@PORT@"

mpath="/usr/lib/x86_64-linux-gnu/kamailio/modules/"
loadmodule "tm.so"
loadmodule "sl.so"
loadmodule "rr.so"
loadmodule "pv.so"
loadmodule "maxfwd.so"
loadmodule "textops.so"
loadmodule "siputils.so"
loadmodule "xlog.so"
loadmodule "htable.so"
loadmodule "usrloc.so"
loadmodule "registrar.so"
loadmodule "auth.so"

modparam("tm", "fr_timer", 5000)
modparam("tm", "fr_inv_timer", 60000)
modparam("rr", "enable_full_lr", 1)
modparam("rr", "append_fromtag", 1)
# Memory only: no database behind the location table.
modparam("usrloc", "db_mode", 0)
modparam("registrar", "max_expires", 3600)
modparam("registrar", "min_expires", 10)
# "MD5" or "SHA-256": the algorithm of every challenge, and of the check.
modparam("auth", "algorithm", "@ALGORITHM@")
modparam("auth", "nonce_expire", 300)
# users: auth username => password; dids: dialled number => AOR user.
modparam("htable", "htable", "users=>size=4;")
modparam("htable", "htable", "dids=>size=4;")

event_route[htable:mod-init] {
@TABLES@
}

# Run by the first SIP worker once it is up: the line the tests wait for.
event_route[core:worker-one-init] {
	xlog("L_NOTICE", "tieline-test: kamailio ready\n");
}

request_route {
	xlog("L_NOTICE", "request $rm $ru from $si:$sp ($pr) to=$tu\n");
	if (!mf_process_maxfwd_header("10")) {
		sl_send_reply("483", "Too Many Hops");
		exit;
	}
	if (is_method("OPTIONS") && uri == myself && $rU == $null) {
		sl_send_reply("200", "OK");
		exit;
	}
	if (has_totag()) {
		route(WITHINDLG);
		exit;
	}
	if (is_method("CANCEL")) {
		if (t_check_trans()) route(RELAY);
		exit;
	}
	# Retransmissions of a request in progress: tm answers them.
	if (!is_method("ACK") && t_check_trans()) exit;
	if (is_method("REGISTER")) {
		route(REGISTRAR);
		exit;
	}
	if (is_method("INVITE|MESSAGE|SUBSCRIBE|REFER")) route(AUTH);
	remove_hf("Route");
	if (is_method("INVITE|SUBSCRIBE")) record_route();
	if ($rU == $null) {
		sl_send_reply("484", "Address Incomplete");
		exit;
	}
	route(LOCATION);
}

route[WITHINDLG] {
	if (loose_route()) {
		xlog("L_NOTICE", "in-dialog $rm via loose_route to $ru (du=$du)\n");
		route(RELAY);
		exit;
	}
	if (is_method("ACK")) {
		# ACK to a non-2xx: hop by hop, tm matches it.
		if (t_check_trans()) {
			t_relay();
			exit;
		}
		xlog("L_NOTICE", "ACK without our Route to $ru dropped (did the UAS copy Record-Route into its 2xx?)\n");
		exit;
	}
	xlog("L_NOTICE", "in-dialog $rm without our Route: 404\n");
	sl_send_reply("404", "Not here");
	exit;
}

route[REGISTRAR] {
	if (!has_credentials("@REALM@")) {
		auth_challenge("@REALM@", "@QOPFLAGS@");
		exit;
	}
	$var(password) = $sht(users=>$au);
	if ($var(password) == $null) {
		xlog("L_NOTICE", "REGISTER from unknown user $au\n");
		sl_send_reply("403", "Forbidden");
		exit;
	}
	# Checks: 1, the authentication user must be the To user.
	if (!pv_auth_check("@REALM@", "$var(password)", "0", "1")) {
		xlog("L_NOTICE", "REGISTER authentication failed for $au: $rc\n");
		auth_challenge("@REALM@", "@QOPFLAGS@");
		exit;
	}
	consume_credentials();
	# 0x04: one binding per AOR, the latest; a phone or gateway restarted
	# by the next test replaces the dead one instead of being forked to too.
	if (!save("location", "0x04")) {
		sl_reply_error();
		exit;
	}
	$var(expires) = -1;
	if (is_present_hf("Expires")) $var(expires) = $(hdr(Expires){s.int});
	if ($var(expires) == 0 || $ct == "*" || $ct =~ ";expires=0([^0-9]|$)") {
		xlog("L_NOTICE", "unregistered $tu\n");
	} else {
		xlog("L_NOTICE", "registered $tu contact $ct\n");
	}
	exit;
}

route[AUTH] {
#!ifndef CHALLENGE_INVITES
	return;
#!endif
	if (!has_credentials("@REALM@")) {
		auth_challenge("@REALM@", "@QOPFLAGS@");
		exit;
	}
	$var(password) = $sht(users=>$au);
	if ($var(password) == $null) {
		sl_send_reply("403", "Forbidden");
		exit;
	}
	# Checks: 0, the From user may be any caller ID of this user.
	if (!pv_auth_check("@REALM@", "$var(password)", "0", "0")) {
		xlog("L_NOTICE", "$rm authentication failed for $au: $rc\n");
		auth_challenge("@REALM@", "@QOPFLAGS@");
		exit;
	}
	consume_credentials();
}

route[LOCATION] {
	# A DID: the registered user that owns it, the To header unchanged.
	if ($sht(dids=>$rU) != $null) {
		xlog("L_NOTICE", "DID $rU belongs to $sht(dids=>$rU)\n");
		$rU = $sht(dids=>$rU);
	}
	if (!lookup("location")) {
		$var(rc) = $rc;
#!ifdef GATEWAY_PORT
		# Not registered here: the static gateway (a trunk without registration).
		if (is_method("INVITE") && $var(rc) == -1) {
			$rd = "127.0.0.1";
			$rp = GATEWAY_PORT;
			xlog("L_NOTICE", "no binding: to the gateway as $ru\n");
			route(RELAY);
		}
#!endif
		xlog("L_NOTICE", "no binding for $ru ($var(rc))\n");
		t_newtran();
		# lookup: -1 no binding, -2 bindings without this method, -3 error.
		switch ($var(rc)) {
			case -1:
				send_reply("404", "Not Found");
				exit;
			case -2:
				send_reply("405", "Method Not Allowed");
				exit;
		}
		send_reply("500", "Server Internal Error");
		exit;
	}
	xlog("L_NOTICE", "retargeted to $ru\n");
	route(RELAY);
}

route[RELAY] {
	if (is_method("INVITE|BYE|UPDATE|CANCEL|ACK")) {
		t_on_reply("REPLY");
	}
	if (!t_relay()) sl_reply_error();
	exit;
}

onreply_route[REPLY] {
	xlog("L_NOTICE", "reply $rs $rr for $rm from $si:$sp\n");
}
"""#
}
