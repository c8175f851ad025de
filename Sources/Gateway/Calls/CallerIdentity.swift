import SIP

extension OutgoingInvite.Parameters {
    /// Who the call is from, as the trunk may see it. A trunk in our trust
    /// domain (`asserted_identity`) gets the caller in P-Asserted-Identity
    /// (RFC 3325 §9.1). With privacy the From is anonymous (RFC 3323
    /// §4.1.1.3) and `Privacy: id` asks the trusted trunk to withhold the
    /// asserted identity beyond it (RFC 3325 §9.3); an untrusted trunk then
    /// learns nothing of the caller.
    mutating func present(callerName: String?, privacy: Bool, asserted: Bool) {
        var identity = from
        if let callerName { identity.displayName = callerName }
        if asserted {
            headers.append(("P-Asserted-Identity", NameAddress(displayName: identity.displayName, uri: identity.uri).description))
        }
        if privacy {
            from = NameAddress(displayName: "Anonymous", uri: SIPURI(scheme: "sip", user: "anonymous", host: "anonymous.invalid"))
            headers.append(("Privacy", "id"))
        } else {
            from = identity
        }
    }
}
