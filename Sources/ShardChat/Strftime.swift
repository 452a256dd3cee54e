import Foundation

/// `strftime_now(format)`: C `strftime` directives over a given instant, in UTC, in the C locale.
///
/// transformers formats the machine's local time; ShardChat takes the instant from the caller (`render(now:)`) and
/// formats it in UTC so a render is reproducible. Directives: `%d %m %Y %y %H %I %M %S %p %b %B %a %A %j %e %%`.
enum Strftime {
    private static let months = ["January", "February", "March", "April", "May", "June", "July", "August",
        "September", "October", "November", "December"]
    private static let weekdays = ["Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"]

    static func format(_ date: Date, _ format: String, at location: SourceLocation) throws(ChatTemplateError)
        -> String
    {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        let c = calendar.dateComponents([.year, .month, .day, .hour, .minute, .second, .weekday], from: date)
        let year = c.year ?? 1970, month = c.month ?? 1, day = c.day ?? 1
        let hour = c.hour ?? 0, minute = c.minute ?? 0, second = c.second ?? 0, weekday = (c.weekday ?? 1) - 1
        let dayOfYear = calendar.ordinality(of: .day, in: .year, for: date) ?? 1
        func pad(_ n: Int, _ width: Int = 2, _ fill: Character = "0") -> String {
            let s = String(n)
            return String(repeating: fill, count: max(0, width - s.count)) + s
        }
        var out = ""
        var iterator = format.unicodeScalars.makeIterator()
        while let scalar = iterator.next() {
            guard scalar == "%" else {
                out.unicodeScalars.append(scalar)
                continue
            }
            guard let directive = iterator.next() else {
                out += "%"
                break
            }
            switch directive {
            case "d": out += pad(day)
            case "e": out += pad(day, 2, " ")
            case "m": out += pad(month)
            case "Y": out += String(year)
            case "y": out += pad(year % 100)
            case "H": out += pad(hour)
            case "I": out += pad(hour % 12 == 0 ? 12 : hour % 12)
            case "M": out += pad(minute)
            case "S": out += pad(second)
            case "p": out += hour < 12 ? "AM" : "PM"
            case "b", "h": out += String(months[month - 1].prefix(3))
            case "B": out += months[month - 1]
            case "a": out += String(weekdays[weekday].prefix(3))
            case "A": out += weekdays[weekday]
            case "j": out += pad(dayOfYear, 3)
            case "%": out += "%"
            default:
                throw ChatTemplateError(.unsupported, "strftime directive '%\(directive)' is not supported",
                    at: location)
            }
        }
        return out
    }
}
