import Foundation

/// A value on the pickle machine's stack. Only what PyTorch checkpoints contain is modelled;
/// lists and dicts are reference boxes because pickle mutates them after memoizing them. Tuples are boxes
/// too, so every container releases its contents without recursion (see `PickleList.deinit`): a crafted
/// pickle may nest containers 50 000 deep, and a recursive release of that would overflow the stack.
enum PickleValue {
    case none
    case bool(Bool)
    case int(Int)
    /// An integer too wide for `Int` (LONG1/LONG4), as little-endian two's-complement bytes.
    case bigInt([UInt8])
    case float(Double)
    case string(String)
    case bytes([UInt8])
    case tuple(PickleList)
    case list(PickleList)
    case dict(PickleDict)
    case set(PickleList)
    /// A `module.name` global, not yet called (storage classes, dtypes, callables).
    indirect case global(module: String, name: String)
    /// A storage reference from a persistent id.
    indirect case storage(PickledStorage)
    /// A rebuilt tensor (a view on a storage).
    indirect case tensor(PickledTensor)

    /// Short type name for error messages.
    var kind: String {
        switch self {
        case .none: return "None"
        case .bool: return "bool"
        case .int, .bigInt: return "int"
        case .float: return "float"
        case .string: return "str"
        case .bytes: return "bytes"
        case .tuple: return "tuple"
        case .list: return "list"
        case .dict: return "dict"
        case .set: return "set"
        case .global(let module, let name): return "\(module).\(name)"
        case .storage: return "storage"
        case .tensor: return "tensor"
        }
    }

    var intValue: Int? {
        switch self {
        case .int(let value): return value
        case .bool(let value): return value ? 1 : 0
        default: return nil
        }
    }

    var stringValue: String? {
        if case .string(let value) = self { return value }
        return nil
    }

    /// Elements of a tuple or list.
    var sequence: [PickleValue]? {
        switch self {
        case .tuple(let list), .list(let list): return list.items
        default: return nil
        }
    }

    /// Dictionary key as text ("." joined when flattening nested dicts).
    var keyText: String? {
        switch self {
        case .string(let value): return value
        case .int(let value): return String(value)
        case .bytes(let value): return String(decoding: value, as: UTF8.self)
        default: return nil
        }
    }
}

extension PickleValue {
    /// Moves the contents of a container nobody else holds into `pending`, leaving `self` empty, so that
    /// releasing it frees one level only.
    fileprivate mutating func moveContents(into pending: inout [PickleValue]) {
        switch self {
        case .tuple(var list), .list(var list), .set(var list):
            self = .none
            if isKnownUniquelyReferenced(&list) {
                pending.append(contentsOf: list.items)
                list.items = []
            }
        case .dict(var dict):
            self = .none
            if isKnownUniquelyReferenced(&dict) { dict.moveContents(into: &pending) }
        default:
            break
        }
    }

    /// Releases `values` level by level with an explicit work list instead of recursion. A container that is
    /// still held elsewhere is left alone: its own `deinit` does the same when its last holder lets go.
    static func release(_ values: inout [PickleValue]) {
        var pending: [PickleValue] = []
        swap(&pending, &values)
        while var value = pending.popLast() {
            value.moveContents(into: &pending)
        }
    }
}

/// Mutable list (also used for tuples and sets).
final class PickleList {
    var items: [PickleValue]
    init(_ items: [PickleValue] = []) { self.items = items }
    deinit { PickleValue.release(&items) }
}

/// Mutable insertion-ordered dict; string and int keys replace earlier entries.
final class PickleDict {
    private(set) var entries: [(key: PickleValue, value: PickleValue)] = []
    private var index: [String: Int] = [:]

    func set(_ key: PickleValue, _ value: PickleValue) {
        if let text = indexKey(key) {
            if let existing = index[text] {
                entries[existing].value = value
                return
            }
            index[text] = entries.count
        }
        entries.append((key, value))
    }

    /// Hands every key and value to `pending` and empties the dict.
    fileprivate func moveContents(into pending: inout [PickleValue]) {
        for entry in entries { pending.append(entry.key); pending.append(entry.value) }
        entries = []
        index = [:]
    }

    deinit {
        var contents: [PickleValue] = []
        moveContents(into: &contents)
        PickleValue.release(&contents)
    }

    private func indexKey(_ key: PickleValue) -> String? {
        switch key {
        case .string(let value): return "s" + value
        case .int(let value): return "i" + String(value)
        default: return nil
        }
    }
}

/// A storage as named by a persistent id `('storage', <type>, key, location, numel[, view])`.
struct PickledStorage {
    /// Key of the root storage (file name in the zip, record key in the legacy stream).
    var key: String
    var dtype: TensorDType
    /// Elements the persistent id declares.
    var numel: Int
    /// For legacy storage views (torch < 1.0): the view's start in the root storage, in elements.
    var viewOffset: Int = 0
    /// For legacy storage views: the view's length in elements.
    var viewSize: Int?
}

/// A tensor from `torch._utils._rebuild_tensor_v2` (or `_rebuild_tensor`).
struct PickledTensor {
    var storage: PickledStorage
    var storageOffset: Int
    var shape: [Int]
    var strides: [Int]
}
