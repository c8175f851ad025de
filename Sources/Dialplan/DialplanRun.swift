import CDialplanHelpers
import CLua

/// One call's run of the dialplan: a fresh Lua state (sandboxed, with the
/// instruction and memory limits), the script running in a coroutine that
/// stops at each action. Not thread-safe: use it from one event loop.
///
///     let run = DialplanRun(script: script, call: call, context: context) { level, text in ... }
///     var step = run.start()
///     while true {
///         switch step {
///         case .answer: ...answer...; step = run.resume(.done)
///         case .bridge(let target, let options): ...ring...; step = run.resume(.bridged(code: 486, reason: "Busy Here", answered: false))
///         case .hangup, .finished, .failed: return   // the run is over
///         ...
///         }
///     }
///
/// The Lua state is closed as soon as the run is over (hangup, finished,
/// failed); dropping a run that waits for an outcome closes it too.
public final class DialplanRun {
    public let call: DialplanCall
    /// `call.vars` as the script left them (for call records and logs);
    /// kept after the run is over.
    public private(set) var variables: [String: String] = [:]

    private let script: DialplanScript
    private let context: DialplanContext
    private let limits: DialplanLimits
    private let log: (DialplanLogLevel, String) -> Void
    private var handle: OpaquePointer?
    private var phase = Phase.ready
    private var lastBridge: (code: Int, reason: String?, answered: Bool)?
    /// True while Lua runs; the log closure calling back into the run must
    /// not resume (or free) the state under the running script.
    private var running = false

    private enum Phase {
        case ready
        case waiting(forBridge: Bool)
        case ended
        case failed(DialplanError)
    }

    public init(script: DialplanScript, call: DialplanCall, context: DialplanContext,
                limits: DialplanLimits = DialplanLimits(),
                log: @escaping (DialplanLogLevel, String) -> Void) {
        self.script = script
        self.call = call
        self.context = context
        self.limits = limits
        self.log = log
    }

    deinit {
        dp_run_free(handle)
    }

    /// What to answer when the run is `.finished` without a connected
    /// bridge: the last bridge's failure, or 404 when no bridge was tried.
    public var fallbackResponse: (code: Int, reason: String?) {
        guard let lastBridge else { return (404, "No Route") }
        return (lastBridge.code, lastBridge.reason)
    }

    /// Sets up the sandbox and runs the script to its first action.
    public func start() -> DialplanStep {
        guard case .ready = phase, !running else {
            return .failed(DialplanError(kind: .misuse, message: "start() was called twice"))
        }
        let prelude: [UInt8]
        switch Prelude.bytecode {
        case .success(let code): prelude = code
        case .failure(let error): return end(.failed(error))
        }
        let memory = max(limits.memoryBytes, 0)
        let instructions = Int32(clamping: max(limits.instructions, 1))
        // The callbacks only run inside dp_run_resume, which this object
        // calls while alive, so an unretained pointer to it is enough.
        let context = Unmanaged.passUnretained(self).toOpaque()
        handle = dp_run_new(memory, instructions, { context, level, message, length in
            guard let context, let message else { return }
            let run = Unmanaged<DialplanRun>.fromOpaque(context).takeUnretainedValue()
            let text = String(decoding: UnsafeRawBufferPointer(start: message, count: length), as: UTF8.self)
            run.log(DialplanLogLevel(rawValue: level) ?? .info, text)
        }, { context, key, keyLength, value, valueLength in
            guard let context, let key else { return }
            let run = Unmanaged<DialplanRun>.fromOpaque(context).takeUnretainedValue()
            let name = String(decoding: UnsafeRawBufferPointer(start: key, count: keyLength), as: UTF8.self)
            run.variables[name] = value.map {
                String(decoding: UnsafeRawBufferPointer(start: $0, count: valueLength), as: UTF8.self)
            }
        }, context)
        guard let handle else {
            return end(.failed(DialplanError(kind: .memoryLimit, message: "memory limit exceeded (\(memory) bytes) before the script started")))
        }
        let data = DialplanData.encode(call: call, context: self.context)
        let status = prelude.withUnsafeBufferPointer { prelude in
            script.bytecode.withUnsafeBufferPointer { code in
                data.withUnsafeBufferPointer { data in
                    dp_run_load(handle, prelude.baseAddress, prelude.count, code.baseAddress, code.count,
                                data.baseAddress, data.count)
                }
            }
        }
        guard status == LUA_OK else { return end(.failed(error(status: status))) }
        return proceed(kind: Int32(DP_OUTCOME_DONE), code: 0, text: nil, answered: false)
    }

    /// Hands the outcome of the last action to the script and runs it to its
    /// next action. After the run is over it returns `.finished` (or the
    /// same `.failed`) again and runs nothing.
    public func resume(_ outcome: DialplanOutcome) -> DialplanStep {
        if running {
            return .failed(DialplanError(kind: .misuse, message: "resume() was called from the log closure"))
        }
        switch phase {
        case .ready:
            return .failed(DialplanError(kind: .misuse, message: "resume() was called before start()"))
        case .ended:
            return .finished
        case .failed(let error):
            return .failed(error)
        case .waiting(let forBridge):
            switch outcome {
            case .done:
                if forBridge { lastBridge = (200, nil, true) }
                return proceed(kind: Int32(DP_OUTCOME_DONE), code: 0, text: nil, answered: false)
            case let .bridged(code, reason, answered):
                if forBridge { lastBridge = (code, reason, answered) }
                return proceed(kind: Int32(DP_OUTCOME_BRIDGED), code: code, text: reason, answered: answered)
            case .digits(let digits):
                return proceed(kind: Int32(DP_OUTCOME_DIGITS), code: 0, text: digits, answered: false)
            case let .failed(code, reason):
                if forBridge { lastBridge = (code, reason, false) }
                return proceed(kind: Int32(DP_OUTCOME_FAILED), code: code, text: reason, answered: false)
            }
        }
    }

    private func proceed(kind: Int32, code: Int, text: String?, answered: Bool) -> DialplanStep {
        guard let handle else { return end(.finished) }
        var count: Int32 = 0
        let status: Int32
        running = true
        defer { running = false }
        if let text {
            status = text.withCString {
                dp_run_resume(handle, kind, Int64(code), $0, text.utf8.count, answered ? 1 : 0, &count)
            }
        } else {
            status = dp_run_resume(handle, kind, Int64(code), nil, 0, answered ? 1 : 0, &count)
        }
        switch status {
        case LUA_YIELD:
            guard let thread = dp_run_thread(handle),
                  let step = Self.step(from: Self.values(of: thread, count: count)) else {
                return end(.failed(DialplanError(kind: .runtime, message: "internal error: the prelude yielded an unknown request")))
            }
            if case .hangup = step { return end(step) }
            if case .bridge = step { phase = .waiting(forBridge: true) } else { phase = .waiting(forBridge: false) }
            return step
        case LUA_OK:
            return end(.finished)
        default:
            return end(.failed(error(status: status)))
        }
    }

    /// The run is over: free the Lua state now rather than when the call ends.
    private func end(_ step: DialplanStep) -> DialplanStep {
        dp_run_free(handle)
        handle = nil
        if case .failed(let error) = step { phase = .failed(error) } else { phase = .ended }
        return step
    }

    private func error(status: Int32) -> DialplanError {
        guard let handle else { return DialplanError(kind: .runtime, message: "unknown error") }
        var message: UnsafePointer<CChar>?
        var length = 0
        var typeName: UnsafePointer<CChar>?
        var source = [CChar](repeating: 0, count: 128)
        var line: Int32 = 0
        dp_run_error(handle, &message, &length, &typeName, &source, source.count, &line)
        let text = message.map { String(decoding: UnsafeRawBufferPointer(start: $0, count: length), as: UTF8.self) }
        // Where the script was when it failed; limits and memory errors
        // carry no position in their message.
        let file = line > 0 ? String(decoding: source.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self) : nil
        let where_ = line > 0 ? Int(line) : nil
        let seen = dp_run_limits(handle)
        if seen & Int32(DP_TIME_EXCEEDED) != 0 {
            // The CPU-time check of the count hook (dialplan_helpers.c): one
            // step may take 100 ms, whatever its instruction count.
            return DialplanError(kind: .instructionLimit, file: file, line: where_,
                                 message: "time limit exceeded (100 ms of CPU in one step)")
        }
        if seen & Int32(DP_INSTRUCTIONS_EXCEEDED) != 0 {
            return DialplanError(kind: .instructionLimit, file: file, line: where_,
                                 message: "instruction limit exceeded (\(limits.instructions) instructions)")
        }
        if status == LUA_ERRMEM || (seen & Int32(DP_MEMORY_REFUSED) != 0 && text == "not enough memory") {
            return DialplanError(kind: .memoryLimit, file: file, line: where_,
                                 message: "memory limit exceeded (\(limits.memoryBytes) bytes)")
        }
        guard let text else {
            let type = typeName.map { String(cString: $0) } ?? "unknown"
            return DialplanError(kind: .runtime, file: file, line: where_, message: "(error object is a \(type) value)")
        }
        var error = DialplanError.fromLua(text, kind: .runtime)
        if error.line == nil {
            error.file = file
            error.line = where_
        }
        return error
    }
}
