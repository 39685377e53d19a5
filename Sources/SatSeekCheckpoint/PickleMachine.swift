import Foundation

/// A small pickle virtual machine for the opcodes `torch.save` emits (protocols 0–5, binary forms
/// plus the few text forms protocol 2 still uses). Globals are never imported: they are kept as
/// names, and only the whitelisted torch/collections callables in `PickleTorch.swift` may be called.
///
/// Works on raw bytes that must outlive the machine (use inside `withUnsafeBytes`).
struct PickleMachine {
    let bytes: UnsafeRawBufferPointer
    let url: URL
    /// What is being read, for truncation messages ("data.pkl", "the main pickle", …).
    let context: String
    /// Read position; after `run()` it is just past the STOP opcode.
    private(set) var position: Int
    /// Storages named by persistent ids, by key.
    private(set) var storages: [String: PickledStorage] = [:]

    private var stack: [PickleValue] = []
    private var marks: [Int] = []
    private var memo: [Int: PickleValue] = [:]

    init(bytes: UnsafeRawBufferPointer, at start: Int, url: URL, context: String) {
        self.bytes = bytes
        self.position = start
        self.url = url
        self.context = context
    }

    // MARK: Running

    /// Runs up to STOP and returns the pickled object.
    mutating func run() throws -> PickleValue {
        while true {
            let opcodeOffset = position
            let opcode = try readByte()
            if opcode == 0x2e {  // STOP
                return try pop()
            }
            try execute(opcode, at: opcodeOffset)
        }
    }

    private mutating func execute(_ opcode: UInt8, at offset: Int) throws {
        switch opcode {
        case 0x80: _ = try readByte()  // PROTO
        case 0x95: _ = try read(8)  // FRAME: framing only matters to streaming readers
        case 0x28:  // MARK
            guard marks.count < Self.maximumEntries else { throw malformed("more than \(Self.maximumEntries) MARKs") }
            marks.append(stack.count)
        case 0x7d: try push(.dict(PickleDict()))  // EMPTY_DICT
        case 0x5d: try push(.list(PickleList()))  // EMPTY_LIST
        case 0x29: try push(.tuple(PickleList()))  // EMPTY_TUPLE
        case 0x8f: try push(.set(PickleList()))  // EMPTY_SET
        case 0x74: try push(.tuple(PickleList(try popMark())))  // TUPLE
        case 0x85: try push(.tuple(PickleList([try pop()])))  // TUPLE1
        case 0x86: let b = try pop(), a = try pop(); try push(.tuple(PickleList([a, b])))  // TUPLE2
        case 0x87: let c = try pop(), b = try pop(), a = try pop(); try push(.tuple(PickleList([a, b, c])))  // TUPLE3
        case 0x6c: try push(.list(PickleList(try popMark())))  // LIST
        case 0x64: try push(.dict(try makeDict(try popMark())))  // DICT
        case 0x91: try push(.set(PickleList(try popMark())))  // FROZENSET
        // Memo
        case 0x71: try remember(Int(try readByte()), try top())  // BINPUT
        case 0x72: try remember(Int(try readUInt32()), try top())  // LONG_BINPUT
        case 0x94: try remember(memo.count, try top())  // MEMOIZE
        case 0x70: try remember(try readDecimalLine(), try top())  // PUT
        case 0x68: try push(try recall(Int(try readByte())))  // BINGET
        case 0x6a: try push(try recall(Int(try readUInt32())))  // LONG_BINGET
        case 0x67: try push(try recall(try readDecimalLine()))  // GET
        // Stack manipulation
        case 0x30: _ = try pop()  // POP
        case 0x31: _ = try popMark()  // POP_MARK
        case 0x32: try push(try top())  // DUP
        // Globals
        case 0x63:  // GLOBAL
            let module = try readLine(), name = try readLine()
            try push(.global(module: module, name: name))
        case 0x93:  // STACK_GLOBAL
            let name = try pop(), module = try pop()
            guard let moduleText = module.stringValue, let nameText = name.stringValue else {
                throw malformed("STACK_GLOBAL needs two strings, got \(module.kind) and \(name.kind)")
            }
            try push(.global(module: moduleText, name: nameText))
        // Strings and bytes
        case 0x8c: try push(.string(try readUTF8(Int(try readByte()))))  // SHORT_BINUNICODE
        case 0x58: try push(.string(try readUTF8(Int(try readUInt32()))))  // BINUNICODE
        case 0x8d: try push(.string(try readUTF8(try readLength64())))  // BINUNICODE8
        case 0x55: try push(.string(try readLegacyString(Int(try readByte()))))  // SHORT_BINSTRING
        case 0x54: try push(.string(try readLegacyString(Int(try readUInt32()))))  // BINSTRING
        case 0x43: try push(.bytes(try read(Int(try readByte()))))  // SHORT_BINBYTES
        case 0x42: try push(.bytes(try read(Int(try readUInt32()))))  // BINBYTES
        case 0x8e, 0x96: try push(.bytes(try read(try readLength64())))  // BINBYTES8, BYTEARRAY8
        // Numbers and constants
        case 0x4a: try push(.int(Int(Int32(bitPattern: try readUInt32()))))  // BININT
        case 0x4b: try push(.int(Int(try readByte())))  // BININT1
        case 0x4d: try push(.int(Int(try readUInt16())))  // BININT2
        case 0x8a: try push(makeLong(try read(Int(try readByte()))))  // LONG1
        case 0x8b: try push(makeLong(try read(Int(try readUInt32()))))  // LONG4
        case 0x49: try push(try readTextInt())  // INT (also "00"/"01" booleans)
        case 0x4c: try push(try readTextInt())  // LONG ("123L")
        case 0x47:  // BINFLOAT (big-endian)
            let raw = try read(8).reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
            try push(.float(Double(bitPattern: raw)))
        case 0x4e: try push(.none)  // NONE
        case 0x88: try push(.bool(true))  // NEWTRUE
        case 0x89: try push(.bool(false))  // NEWFALSE
        // Building containers
        case 0x73:  // SETITEM
            let value = try pop(), key = try pop()
            try dictionary(on: try top(), "SETITEM").set(key, value)
        case 0x75:  // SETITEMS
            let items = try popMark()
            let dict = try dictionary(on: try top(), "SETITEMS")
            guard items.count % 2 == 0 else { throw malformed("SETITEMS with an odd number of items") }
            for i in stride(from: 0, to: items.count, by: 2) { dict.set(items[i], items[i + 1]) }
        case 0x61:  // APPEND
            let value = try pop()
            try list(on: try top(), "APPEND").items.append(value)
        case 0x65, 0x90:  // APPENDS, ADDITEMS
            let items = try popMark()
            try list(on: try top(), "APPENDS").items.append(contentsOf: items)
        // Objects
        case 0x52:  // REDUCE
            let arguments = try pop(), callable = try pop()
            guard let args = arguments.sequence else { throw malformed("REDUCE arguments are a \(arguments.kind)") }
            try push(try call(callable, args))
        case 0x81:  // NEWOBJ
            let arguments = try pop(), cls = try pop()
            try push(try call(cls, arguments.sequence ?? []))
        case 0x92:  // NEWOBJ_EX
            _ = try pop()
            let arguments = try pop(), cls = try pop()
            try push(try call(cls, arguments.sequence ?? []))
        case 0x62:  // BUILD: state of an object we created; dict attributes (OrderedDict._metadata) are dropped
            _ = try pop()
            _ = try top()
        case 0x51:  // BINPERSID
            try push(try persistentLoad(try pop()))
        case 0x50:  // PERSID
            try push(try persistentLoad(.string(try readLine())))
        default:
            throw CheckpointError.unsupportedOpcode(url, opcode: opcode, offset: offset)
        }
    }

    // MARK: Stack helpers

    /// Most values the stack or the memo may hold: a state dict needs a few per tensor, while a crafted
    /// stream of one-byte DUPs could otherwise turn every byte of a large file into a stack entry.
    static let maximumEntries = 1 << 20

    private mutating func push(_ value: PickleValue) throws {
        guard stack.count < Self.maximumEntries else {
            throw malformed("more than \(Self.maximumEntries) values on the stack at offset \(position - 1)")
        }
        stack.append(value)
    }

    private mutating func remember(_ key: Int, _ value: PickleValue) throws {
        guard memo.count < Self.maximumEntries || memo[key] != nil else {
            throw malformed("more than \(Self.maximumEntries) memo entries at offset \(position - 1)")
        }
        memo[key] = value
    }

    private mutating func pop() throws -> PickleValue {
        guard let value = stack.popLast() else { throw malformed("stack underflow at offset \(position - 1)") }
        if let mark = marks.last, mark > stack.count { throw malformed("pop across a MARK at offset \(position - 1)") }
        return value
    }

    private func top() throws -> PickleValue {
        guard let value = stack.last else { throw malformed("empty stack at offset \(position - 1)") }
        return value
    }

    private mutating func popMark() throws -> [PickleValue] {
        guard let mark = marks.popLast(), mark <= stack.count else {
            throw malformed("no MARK for the opcode at offset \(position - 1)")
        }
        let items = Array(stack[mark...])
        stack.removeSubrange(mark...)
        return items
    }

    private func recall(_ index: Int) throws -> PickleValue {
        guard let value = memo[index] else { throw malformed("memo entry \(index) used before it was set") }
        return value
    }

    private func makeDict(_ items: [PickleValue]) throws -> PickleDict {
        guard items.count % 2 == 0 else { throw malformed("DICT with an odd number of items") }
        let dict = PickleDict()
        for i in stride(from: 0, to: items.count, by: 2) { dict.set(items[i], items[i + 1]) }
        return dict
    }

    private func dictionary(on value: PickleValue, _ opcode: String) throws -> PickleDict {
        guard case .dict(let dict) = value else { throw malformed("\(opcode) on a \(value.kind)") }
        return dict
    }

    private func list(on value: PickleValue, _ opcode: String) throws -> PickleList {
        switch value {
        case .list(let list), .set(let list): return list
        default: throw malformed("\(opcode) on a \(value.kind)")
        }
    }

    /// LONG1/LONG4 payload: little-endian two's complement.
    private func makeLong(_ raw: [UInt8]) -> PickleValue {
        if raw.isEmpty { return .int(0) }
        if raw.count > 8 { return .bigInt(raw) }
        var value: UInt64 = 0
        for (i, byte) in raw.enumerated() { value |= UInt64(byte) << (8 * UInt64(i)) }
        if raw.count < 8, raw.last! & 0x80 != 0 { value |= ~UInt64(0) << (8 * UInt64(raw.count)) }
        return .int(Int(Int64(bitPattern: value)))
    }

    func malformed(_ detail: String) -> CheckpointError {
        .malformed(url, detail: "\(context): \(detail)")
    }

    /// Records a storage persistent id (implemented in PickleTorch.swift).
    private mutating func persistentLoad(_ pid: PickleValue) throws -> PickleValue {
        let storage = try torchStorage(fromPersistentID: pid)
        if let known = storages[storage.key], known.dtype != storage.dtype {
            throw malformed("storage '\(storage.key)' is used as both \(known.dtype) and \(storage.dtype)")
        }
        if storages[storage.key] == nil || storage.viewSize == nil {
            storages[storage.key] = storage
        }
        return .storage(storage)
    }

    // MARK: Reading bytes

    private mutating func read(_ count: Int) throws -> [UInt8] {
        try need(count)
        defer { position += count }
        return Array(UnsafeRawBufferPointer(rebasing: bytes[position..<position + count]))
    }

    private mutating func need(_ count: Int) throws {
        guard count >= 0, count <= bytes.count - position else {
            throw CheckpointError.truncated(
                url,
                detail: "\(context) needs \(count) more byte(s) at offset "
                    + "\(position), only \(max(0, bytes.count - position)) available")
        }
    }

    private mutating func readByte() throws -> UInt8 {
        try need(1)
        defer { position += 1 }
        return bytes[position]
    }

    private mutating func readUInt16() throws -> UInt16 {
        try need(2)
        defer { position += 2 }
        return UInt16(littleEndian: bytes.loadUnaligned(fromByteOffset: position, as: UInt16.self))
    }

    private mutating func readUInt32() throws -> UInt32 {
        try need(4)
        defer { position += 4 }
        return UInt32(littleEndian: bytes.loadUnaligned(fromByteOffset: position, as: UInt32.self))
    }

    private mutating func readLength64() throws -> Int {
        try need(8)
        let raw = UInt64(littleEndian: bytes.loadUnaligned(fromByteOffset: position, as: UInt64.self))
        position += 8
        guard raw <= UInt64(Int.max) else { throw malformed("length \(raw) at offset \(position - 8)") }
        return Int(raw)
    }

    private mutating func readUTF8(_ count: Int) throws -> String {
        String(decoding: try read(count), as: UTF8.self)
    }

    /// Python 2 `str`: UTF-8 when valid (ASCII keys), else Latin-1.
    private mutating func readLegacyString(_ count: Int) throws -> String {
        let raw = try read(count)
        return String(validating: raw, as: UTF8.self) ?? String(raw.map { Character(Unicode.Scalar($0)) })
    }

    /// A newline-terminated line (GLOBAL, PUT, INT …), without the newline.
    private mutating func readLine() throws -> String {
        var end = position
        while end < bytes.count, bytes[end] != 0x0a { end += 1 }
        guard end < bytes.count else {
            throw CheckpointError.truncated(
                url,
                detail: "\(context) ends at offset \(bytes.count) inside a "
                    + "text line that starts at offset \(position)")
        }
        let line = String(decoding: UnsafeRawBufferPointer(rebasing: bytes[position..<end]), as: UTF8.self)
        position = end + 1
        return line
    }

    private mutating func readDecimalLine() throws -> Int {
        let line = try readLine()
        guard let value = Int(line) else { throw malformed("bad decimal '\(line)'") }
        return value
    }

    private mutating func readTextInt() throws -> PickleValue {
        var line = try readLine()
        if line == "00" { return .bool(false) }
        if line == "01" { return .bool(true) }
        if line.hasSuffix("L") { line.removeLast() }
        guard let value = Int(line) else { throw malformed("integer '\(line)' is not supported") }
        return .int(value)
    }
}
