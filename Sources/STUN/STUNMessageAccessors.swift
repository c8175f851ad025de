// The first occurrence of each attribute an ICE agent asks about. RFC 8489 §14 says only the
// first of a repeated attribute needs processing, so these never look further.

extension STUNMessage {
    public var username: String? {
        for case .username(let value) in attributes { return value }
        return nil
    }

    public var xorMappedAddress: STUNAddress? {
        for case .xorMappedAddress(let value) in attributes { return value }
        return nil
    }

    public var mappedAddress: STUNAddress? {
        for case .mappedAddress(let value) in attributes { return value }
        return nil
    }

    public var priority: UInt32? {
        for case .priority(let value) in attributes { return value }
        return nil
    }

    public var useCandidate: Bool {
        attributes.contains(.useCandidate)
    }

    public var iceControlling: UInt64? {
        for case .iceControlling(let value) in attributes { return value }
        return nil
    }

    public var iceControlled: UInt64? {
        for case .iceControlled(let value) in attributes { return value }
        return nil
    }

    public var errorCode: STUNErrorCode? {
        for case .errorCode(let value) in attributes { return value }
        return nil
    }

    public var software: String? {
        for case .software(let value) in attributes { return value }
        return nil
    }

    public var messageIntegrity: [UInt8]? {
        for case .messageIntegrity(let value) in attributes { return value }
        return nil
    }

    public var fingerprint: UInt32? {
        for case .fingerprint(let value) in attributes { return value }
        return nil
    }

    /// Comprehension-required types (below 0x8000) this target kept raw: a request carrying
    /// any must be answered with 420 and an UNKNOWN-ATTRIBUTES listing them (§6.3.1).
    public var unknownComprehensionRequiredTypes: [UInt16] {
        var types: [UInt16] = []
        for case .unknown(let type, _) in attributes
        where STUNAttribute.isComprehensionRequired(type) && !types.contains(type) {
            types.append(type)
        }
        return types
    }
}
