import Foundation

/// When a scene was acquired, and where that was read from.
public struct Acquisition: Sendable, Codable, Equatable {
    public enum Source: String, Sendable, Codable {
        /// `--date` given at indexing.
        case option
        /// The STAC item's `datetime` (or `start_datetime`).
        case stac
        /// GDAL metadata of the raster (`ACQUISITIONDATETIME`, `TIFFTAG_DATETIME`, …).
        case metadata
        /// A `YYYYMMDD` token in the file name (`naip_…_20090818.tif`, Sentinel/Landsat product names).
        case fileName = "file-name"
    }

    public let date: Date
    public let source: Source

    public init(date: Date, source: Source) {
        self.date = date
        self.source = source
    }
}

/// Reading acquisition dates: the text forms rasters, STAC items and file names carry.
public enum AcquisitionDate {
    /// Parses a date or date-time: ISO 8601 (`2020-08-31`, `2020-08-31T17:02:11Z`, fractions, `±hh:mm` offsets,
    /// a space instead of `T`) and TIFF's `2020:08:31 17:02:11`. Times without a zone are UTC. `nil` when the
    /// text is none of these or not a real calendar date (`2020-02-30`).
    public static func parse(_ text: String) -> Date? {
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        let scalars = Array(trimmed.utf8)
        guard scalars.count >= 10, scalars.count <= 40 else { return nil }
        func number(_ range: Range<Int>) -> Int? {
            guard range.upperBound <= scalars.count else { return nil }
            var value = 0
            for i in range {
                guard scalars[i] >= 48, scalars[i] <= 57 else { return nil }
                value = value * 10 + Int(scalars[i] - 48)
            }
            return value
        }
        let separator = scalars[4]
        guard separator == UInt8(ascii: "-") || separator == UInt8(ascii: ":"), scalars[7] == separator,
            let year = number(0..<4), let month = number(5..<7), let day = number(8..<10)
        else { return nil }
        var hour = 0, minute = 0, second = 0.0, offsetSeconds = 0
        var rest = scalars[10...]
        if let first = rest.first, first == UInt8(ascii: "T") || first == UInt8(ascii: " ") {
            guard let h = number(11..<13), scalars.count >= 16, scalars[13] == UInt8(ascii: ":"),
                let m = number(14..<16)
            else { return nil }
            hour = h
            minute = m
            var index = 16
            if index < scalars.count, scalars[index] == UInt8(ascii: ":") {
                guard let s = number(17..<19) else { return nil }
                second = Double(s)
                index = 19
                if index < scalars.count, scalars[index] == UInt8(ascii: ".") {
                    var fraction = 0.0, scale = 0.1
                    index += 1
                    while index < scalars.count, scalars[index] >= 48, scalars[index] <= 57 {
                        fraction += Double(scalars[index] - 48) * scale
                        scale /= 10
                        index += 1
                    }
                    second += fraction
                }
            }
            rest = scalars[index...]
            if let zone = rest.first {
                if zone == UInt8(ascii: "Z") || zone == UInt8(ascii: "z") {
                    guard rest.count == 1 else { return nil }
                } else if zone == UInt8(ascii: "+") || zone == UInt8(ascii: "-") {
                    let start = index + 1
                    guard let oh = number(start..<(start + 2)) else { return nil }
                    var om = 0
                    if scalars.count == start + 5, scalars[start + 2] == UInt8(ascii: ":") {
                        guard let value = number((start + 3)..<(start + 5)) else { return nil }
                        om = value
                    } else if scalars.count == start + 4 {
                        guard let value = number((start + 2)..<(start + 4)) else { return nil }
                        om = value
                    } else if scalars.count != start + 2 {
                        return nil
                    }
                    guard oh <= 14, om < 60 else { return nil }
                    offsetSeconds = (oh * 3600 + om * 60) * (zone == UInt8(ascii: "-") ? -1 : 1)
                } else {
                    return nil
                }
            }
        } else if !rest.isEmpty {
            return nil
        }
        guard hour < 24, minute < 60, second < 61,
            let midnight = calendarDate(year: year, month: month, day: day)
        else { return nil }
        return midnight.addingTimeInterval(Double(hour * 3600 + minute * 60) + second - Double(offsetSeconds))
    }

    /// The end of a date range given as text: a day (`2020-12-31`) means its last moment, a date-time itself.
    public static func parseRangeEnd(_ text: String) -> Date? {
        guard let date = parse(text) else { return nil }
        return text.trimmingCharacters(in: .whitespaces).count == 10 ? date.addingTimeInterval(86_399.999) : date
    }

    /// The first `YYYYMMDD` token of a file name (digits not part of a longer number, a year 1950–2099, a real
    /// calendar date), as midnight UTC.
    public static func fromFileName(_ name: String) -> Date? {
        let digits = Array(name.utf8)
        var i = 0
        while i + 8 <= digits.count {
            let isDigit = { (k: Int) -> Bool in digits[k] >= 48 && digits[k] <= 57 }
            var run = i
            while run < digits.count, isDigit(run) { run += 1 }
            if run - i == 8 {
                let value = digits[i..<run].reduce(0) { $0 * 10 + Int($1 - 48) }
                let year = value / 10000, month = value / 100 % 100, day = value % 100
                if (1950...2099).contains(year), let date = calendarDate(year: year, month: month, day: day) {
                    return date
                }
            }
            i = max(run, i + 1)
        }
        return nil
    }

    /// Midnight UTC of a calendar day, `nil` for a day that does not exist.
    public static func calendarDate(year: Int, month: Int, day: Int) -> Date? {
        guard (1...12).contains(month), (1...31).contains(day), (1...9999).contains(year) else { return nil }
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        guard let date = calendar.date(from: DateComponents(year: year, month: month, day: day)) else { return nil }
        let back = calendar.dateComponents([.year, .month, .day], from: date)
        return back.year == year && back.month == month && back.day == day ? date : nil
    }

    /// `2020-08-31` (UTC).
    public static func dayString(_ date: Date) -> String {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        let c = calendar.dateComponents([.year, .month, .day], from: date)
        return String(format: "%04d-%02d-%02d", c.year ?? 0, c.month ?? 0, c.day ?? 0)
    }

    /// `2020-08-31T17:02:11Z` (UTC, whole seconds).
    public static func isoString(_ date: Date) -> String {
        let formatter = ISO8601DateFormatter()
        formatter.timeZone = TimeZone(identifier: "UTC")
        return formatter.string(from: date)
    }
}
