import Foundation

/// Checks a zip file's directory before ZIPFoundation reads it.
///
/// ZIPFoundation converts the 64-bit sizes and offsets of ZIP64 records to `off_t`/`Int` without checking, so a
/// crafted file declaring an offset of 2^63 traps the process ("Not enough bits to represent the passed value",
/// found by `scripts/fuzz.sh`: FuzzCheckpoint). This walks the same records it will read — the end-of-directory
/// record found scanning back from the end, the ZIP64 record and locator before it, every central directory
/// entry and the local header each one points at — and refuses the file when a 64-bit field exceeds what any
/// real file could hold (2^48 bytes) or an offset points past the end of the file.
public enum ZipPreflight {
    /// Largest 64-bit size or offset accepted (256 TiB: no real checkpoint comes near, and sums of two stay far
    /// from overflowing).
    static let largestValue: UInt64 = 1 << 48

    /// Why the zip at `url` (its bytes) must not be handed to ZIPFoundation, or nil when its directory is sane.
    public static func problem(in data: Data) -> String? {
        data.withUnsafeBytes { raw -> String? in
            let bytes = raw.bindMemory(to: UInt8.self)
            let size = bytes.count
            func u16(_ at: Int) -> Int? { at >= 0 && at + 2 <= size ? Int(bytes[at]) | Int(bytes[at + 1]) << 8 : nil }
            func u32(_ at: Int) -> UInt64? {
                guard at >= 0, at + 4 <= size else { return nil }
                return (0..<4).reduce(UInt64(0)) { $0 | UInt64(bytes[at + $1]) << (8 * UInt64($1)) }
            }
            func u64(_ at: Int) -> UInt64? {
                guard at >= 0, at + 8 <= size else { return nil }
                return (0..<8).reduce(UInt64(0)) { $0 | UInt64(bytes[at + $1]) << (8 * UInt64($1)) }
            }
            // The ZIP64 extended-information fields (tag 1) in an extra block: every value must be sane.
            func extraProblem(_ start: Int, _ length: Int, what: String) -> String? {
                var at = start
                while at + 4 <= start + length {
                    guard let tag = u16(at), let blockLength = u16(at + 2) else { return nil }
                    if tag == 1 {
                        var field = at + 4
                        while field + 8 <= min(at + 4 + blockLength, start + length) {
                            if let value = u64(field), value > largestValue {
                                return "\(what) declares a ZIP64 size or offset of \(value) bytes"
                            }
                            field += 8
                        }
                    }
                    at += 4 + blockLength
                }
                return nil
            }

            // End of central directory: the last signature from the end (as ZIPFoundation scans).
            var eocd = size - 22
            while eocd >= 0, u32(eocd) != 0x0605_4b50 { eocd -= 1 }
            guard eocd >= 0 else { return nil }  // not a zip at all: ZIPFoundation refuses it by itself
            var directoryOffset = u32(eocd + 16) ?? 0
            var entries = UInt64(u16(eocd + 10) ?? 0)
            // ZIP64 locator and record, at the fixed places ZIPFoundation reads them.
            let locator = eocd - 20, record = locator - 56
            if u32(locator) == 0x0706_4b50 || u32(record) == 0x0606_4b50 {
                for (what, field) in [
                    ("ZIP64 locator", locator + 8), ("ZIP64 record", record + 24),
                    ("ZIP64 record", record + 32), ("ZIP64 record", record + 40),
                    ("ZIP64 record", record + 48)
                ] {
                    if let value = u64(field), value > largestValue {
                        return "the \(what) declares \(value) (entries, bytes or an offset)"
                    }
                }
                if directoryOffset == 0xffff_ffff, let zip64 = u64(record + 48) { directoryOffset = zip64 }
                if entries == 0xffff, let zip64 = u64(record + 32) { entries = zip64 }
            }
            guard directoryOffset <= UInt64(size) else {
                return "the central directory is said to start at byte \(directoryOffset) of \(size)"
            }
            // Central directory entries and the local headers they point at.
            var at = Int(directoryOffset)
            var seen: UInt64 = 0
            while seen < entries, u32(at) == 0x0201_4b50 {
                guard let nameLength = u16(at + 28), let extraLength = u16(at + 30), let commentLength = u16(at + 32),
                    var local = u32(at + 42)
                else { break }
                if let problem = extraProblem(
                    at + 46 + nameLength, extraLength, what: "central directory entry \(seen)")
                {
                    return problem
                }
                if local == 0xffff_ffff {
                    // The real offset is in the ZIP64 field; extraProblem has bounded it, find it for the local check.
                    var field = at + 46 + nameLength
                    while field + 4 <= at + 46 + nameLength + extraLength, let tag = u16(field),
                        let length = u16(field + 2)
                    {
                        if tag == 1, length >= 8, let value = u64(field + 4 + length - 8) { local = value }
                        field += 4 + length
                    }
                }
                guard local <= UInt64(size) else {
                    return "central directory entry \(seen) puts its data at byte \(local) of \(size)"
                }
                if u32(Int(local)) == 0x0403_4b50, let localName = u16(Int(local) + 26),
                    let localExtra = u16(Int(local) + 28),
                    let problem = extraProblem(Int(local) + 30 + localName, localExtra, what: "local header \(seen)")
                {
                    return problem
                }
                at += 46 + nameLength + extraLength + commentLength
                seen += 1
            }
            return nil
        }
    }
}
