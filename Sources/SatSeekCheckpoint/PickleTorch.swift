import Foundation

/// The torch-specific part of the pickle machine: which globals may be called, how persistent
/// ids name storages, and how the unpickled object becomes named tensors.
extension PickleMachine {
    /// Calls a whitelisted global (REDUCE / NEWOBJ). Anything else is an error naming the global:
    /// no code from the file is ever run.
    func call(_ callable: PickleValue, _ args: [PickleValue]) throws -> PickleValue {
        guard case .global(let module, let name) = callable else {
            throw malformed("cannot call a \(callable.kind)")
        }
        let qualified = "\(module).\(name)"
        switch qualified {
        case "collections.OrderedDict", "builtins.dict", "__builtin__.dict":
            let dict = PickleDict()
            for pair in args.first?.sequence ?? [] {
                guard let keyValue = pair.sequence, keyValue.count == 2 else {
                    throw malformed("\(qualified) item is not a (key, value) pair")
                }
                dict.set(keyValue[0], keyValue[1])
            }
            return .dict(dict)
        case "torch._utils._rebuild_tensor_v2", "torch._utils._rebuild_tensor":
            return .tensor(try rebuildTensor(args, qualified))
        case "torch._utils._rebuild_parameter", "torch._utils._rebuild_parameter_with_state":
            guard let tensor = args.first, case .tensor = tensor else {
                throw malformed("\(qualified) expects a tensor, got \(args.first?.kind ?? "nothing")")
            }
            return tensor
        case "torch._tensor._rebuild_from_type_v2":
            // (func, type, args, state): plain tensors and parameters only.
            guard args.count >= 3, let inner = args[2].sequence else {
                throw malformed("\(qualified) needs (func, type, args, state)")
            }
            if case .global(let typeModule, let typeName) = args[1],
                !["torch.Tensor", "torch.nn.parameter.Parameter"].contains("\(typeModule).\(typeName)")
            {
                throw CheckpointError.unsupportedGlobal(url, name: "\(typeModule).\(typeName)")
            }
            return try call(args[0], inner)
        case "torch.Size", "builtins.tuple", "__builtin__.tuple":
            return .tuple(PickleList(args.first?.sequence ?? []))
        case "builtins.set", "__builtin__.set", "builtins.frozenset", "__builtin__.frozenset":
            return .set(PickleList(args.first?.sequence ?? []))
        case "_codecs.encode":
            // Protocol 2 pickles Python 3 bytes as _codecs.encode(text, "latin1").
            guard let text = args.first?.stringValue else { throw malformed("_codecs.encode needs a str") }
            let encoding = args.count > 1 ? (args[1].stringValue ?? "utf-8") : "utf-8"
            if encoding.lowercased().replacingOccurrences(of: "-", with: "") == "latin1" {
                return .bytes(text.unicodeScalars.map { UInt8(truncatingIfNeeded: $0.value) })
            }
            return .bytes(Array(text.utf8))
        default:
            throw CheckpointError.unsupportedGlobal(url, name: qualified)
        }
    }

    /// `_rebuild_tensor_v2(storage, storage_offset, size, stride, requires_grad, backward_hooks[, metadata])`.
    private func rebuildTensor(_ args: [PickleValue], _ qualified: String) throws -> PickledTensor {
        guard args.count >= 4, case .storage(let storage) = args[0], let offset = args[1].intValue,
            let shape = args[2].sequence?.compactMap(\.intValue), shape.count == args[2].sequence?.count,
            let strides = args[3].sequence?.compactMap(\.intValue), strides.count == args[3].sequence?.count
        else {
            throw malformed(
                "\(qualified) arguments are (\(args.map(\.kind).joined(separator: ", "))), "
                    + "expected (storage, int, tuple of ints, tuple of ints, …)")
        }
        return PickledTensor(storage: storage, storageOffset: offset, shape: shape, strides: strides)
    }

    /// `('storage', <torch.XStorage>, key, location, numel[, view_metadata])`.
    func torchStorage(fromPersistentID pid: PickleValue) throws -> PickledStorage {
        guard let fields = pid.sequence, fields.count >= 5, fields[0].stringValue == "storage" else {
            throw malformed("persistent id \(pid.kind) is not a ('storage', type, key, location, numel) tuple")
        }
        guard case .global(let module, let name) = fields[1] else {
            throw malformed("storage type is a \(fields[1].kind)")
        }
        guard let dtype = storageDTypes[name], module == "torch" || module == "torch.storage" else {
            throw CheckpointError.unsupportedDType(url, dtype: "\(module).\(name)")
        }
        guard let key = fields[2].keyText, let numel = fields[4].intValue, numel >= 0 else {
            throw malformed("storage persistent id has key \(fields[2].kind) and numel \(fields[4].kind)")
        }
        var storage = PickledStorage(key: key, dtype: dtype, numel: numel)
        if fields.count > 5, let view = fields[5].sequence {
            guard view.count == 3, let offset = view[1].intValue, let size = view[2].intValue,
                offset >= 0, size >= 0
            else {
                throw malformed("storage '\(key)' has unreadable view metadata")
            }
            storage.viewOffset = offset
            storage.viewSize = size
        }
        return storage
    }
}

/// Storage class name → element type (typed storages of torch 1.x and 2.x).
private let storageDTypes: [String: TensorDType] = [
    "FloatStorage": .float32, "HalfStorage": .float16, "BFloat16Storage": .bfloat16,
    "DoubleStorage": .float64, "LongStorage": .int64, "IntStorage": .int32,
    "ShortStorage": .int16, "CharStorage": .int8, "ByteStorage": .uint8, "BoolStorage": .bool,
    "UntypedStorage": .uint8
]

enum TorchObjects {
    /// Tensors found in `root`: a tensor dict, or nested dicts/lists flattened with "." joined keys.
    /// Non-tensor leaves are ignored. `storages` holds each root storage's bytes by key.
    static func tensors(
        in root: PickleValue, storages: [String: Data],
        url: URL
    ) throws -> [String: StoredTensor] {
        var found: [(String, PickledTensor)] = []
        var budget = maximumVisits
        try collect(root, prefix: nil, depth: 0, budget: &budget, into: &found, url: url)
        var result: [String: StoredTensor] = [:]
        for (name, pickled) in found {
            let storage = pickled.storage
            guard var bytes = storages[storage.key] else {
                throw CheckpointError.malformed(
                    url,
                    detail: "tensor '\(name)' uses storage '\(storage.key)', "
                        + "which the file does not contain")
            }
            let width = storage.dtype.byteWidth
            if let viewSize = storage.viewSize {
                let elements = bytes.count / width
                guard storage.viewOffset <= elements, viewSize <= elements - storage.viewOffset else {
                    throw CheckpointError.malformed(
                        url,
                        detail: "storage view \(storage.viewOffset)+\(viewSize) "
                            + "lies outside storage '\(storage.key)' of \(elements) elements")
                }
                let start = bytes.startIndex + storage.viewOffset * width
                bytes = bytes[start..<start + viewSize * width]
            }
            result[name] = try StoredTensor(
                name: name, dtype: storage.dtype, shape: pickled.shape, strides: pickled.strides,
                storageOffset: pickled.storageOffset, storage: bytes, storageName: storage.key, url: url)
        }
        return result
    }

    /// Most values the flattening visits. Containers may be shared (or contain themselves), so a few hundred
    /// bytes of pickle can describe a tree of 2^64 paths; a real state dict has a few per tensor.
    static let maximumVisits = 1 << 22

    private static func collect(
        _ value: PickleValue, prefix: String?, depth: Int, budget: inout Int,
        into found: inout [(String, PickledTensor)], url: URL
    ) throws {
        guard depth < 64 else { return }  // self-referencing containers
        budget -= 1
        guard budget >= 0 else {
            throw CheckpointError.malformed(
                url,
                detail: "the pickled object has more than \(maximumVisits) "
                    + "values once its shared containers are followed")
        }
        func join(_ key: String) -> String { prefix.map { "\($0).\(key)" } ?? key }
        switch value {
        case .tensor(let tensor):
            found.append((prefix ?? "", tensor))
        case .dict(let dict):
            for (key, item) in dict.entries {
                if let text = key.keyText {
                    try collect(item, prefix: join(text), depth: depth + 1, budget: &budget, into: &found, url: url)
                }
            }
        case .list(let list), .tuple(let list):
            for (i, item) in list.items.enumerated() {
                try collect(item, prefix: join(String(i)), depth: depth + 1, budget: &budget, into: &found, url: url)
            }
        default:
            break
        }
    }
}
