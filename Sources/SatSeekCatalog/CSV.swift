/// Comma-separated values as RFC 4180 writes them: the one CSV reader and quoting rule of the package (exports,
/// labels read back, the gazetteer's table).
public enum CSV {
    /// The fields of one line: `"…"` quotes a field, `""` inside quotes is one quote.
    public static func fields(_ line: some StringProtocol) -> [String] {
        var fields: [String] = [], field = "", quoted = false
        var characters = line.makeIterator()
        while let c = characters.next() {
            if quoted {
                guard c == "\"" else {
                    field.append(c)
                    continue
                }
                guard let next = characters.next() else {
                    quoted = false
                    continue
                }
                if next == "\"" {
                    field.append("\"")
                } else {
                    quoted = false
                    if next == "," {
                        fields.append(field)
                        field = ""
                    } else {
                        field.append(next)
                    }
                }
            } else if c == "\"" {
                quoted = true
            } else if c == "," {
                fields.append(field)
                field = ""
            } else {
                field.append(c)
            }
        }
        fields.append(field)
        return fields
    }

    /// The field quoted when it needs to be (it holds a comma, a quote or a line break).
    public static func quoted(_ field: String) -> String {
        guard field.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" }) else { return field }
        return "\"" + field.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }
}
