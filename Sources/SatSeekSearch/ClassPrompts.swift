/// Sentences describing a scene class, used to train image→text alignments and to turn class names into
/// queries: folder names become phrases (`DenseResidential` → "dense residential", RSSCN7's `aGrass` →
/// "grass"), put into prompt templates, optionally with synonyms of common remote-sensing classes.
public enum ClassPrompts {
    /// Templates; `{}` is replaced by the class phrase.
    public static let templates = [
        "an aerial photo of {}",
        "a satellite image of {}",
        "satellite image showing {}",
        "{} seen from above",
        "a remote sensing image of {}",
        "{}"
    ]

    /// Other words for classes of UC Merced, AID, RSSCN7 and PatternNet (keys: readable phrases).
    public static let synonyms: [String: [String]] = [
        "airport": ["an airfield with runways", "planes parked at an airport terminal"],
        "airplane": ["planes on the tarmac", "an aircraft"],
        "bare land": ["bare soil", "empty land without vegetation"],
        "baseball field": ["a baseball diamond", "a ballpark"],
        "baseball diamond": ["a baseball field", "a ballpark"],
        "beach": ["a sandy shore with waves", "coastline with sand and sea"],
        "bridge": ["a bridge over water", "a road crossing a river"],
        "center": ["a city centre with large buildings", "a downtown plaza"],
        "church": ["a church building", "a cathedral"],
        "commercial": ["commercial buildings", "shops and offices"],
        "dense residential": ["densely packed houses", "a crowded housing area"],
        "desert": ["sand dunes", "an arid sandy landscape"],
        "farmland": ["agricultural fields", "cropland"],
        "agricultural": ["farm fields", "cropland"],
        "field": ["farm fields", "cropland"],
        "forest": ["dense trees", "woodland"],
        "industrial": ["factories and warehouses", "an industrial area"],
        "industry": ["factories and warehouses", "an industrial area"],
        "meadow": ["grassland", "a green pasture"],
        "grass": ["grassland", "a meadow"],
        "medium residential": ["a neighbourhood of houses", "suburban homes"],
        "mountain": ["mountains", "rocky peaks and ridges"],
        "park": ["a city park with trees and lawns", "a public garden"],
        "parking": ["a parking lot full of cars", "parked cars"],
        "parking lot": ["a car park", "parked cars"],
        "playground": ["a sports ground with a running track", "a playing field"],
        "pond": ["a small lake", "a pool of water"],
        "port": ["a harbor with boats", "ships docked in a harbour", "a marina"],
        "harbor": ["a port with boats", "ships docked in a harbour", "a marina"],
        "railway station": ["a train station", "railway tracks and platforms"],
        "resort": ["a holiday resort", "hotels with swimming pools"],
        "river": ["a river", "a stream flowing through land"],
        "river lake": ["a river or a lake", "water bodies"],
        "school": ["a school campus", "school buildings with a sports field"],
        "sparse residential": ["scattered houses", "detached homes with gardens"],
        "square": ["a public square", "a plaza"],
        "stadium": ["a sports stadium", "an arena with a pitch"],
        "storage tanks": ["oil storage tanks", "round industrial tanks"],
        "viaduct": ["an elevated highway", "a highway interchange"],
        "freeway": ["a highway", "a multi-lane road"],
        "intersection": ["a road junction", "crossing streets"],
        "overpass": ["a highway overpass", "an elevated road"],
        "runway": ["an airport runway", "an airstrip"],
        "tennis court": ["tennis courts", "a sports court"],
        "golf course": ["a golf course with greens", "fairways"],
        "chaparral": ["shrubland", "scrub vegetation"],
        "buildings": ["buildings", "city blocks"],
        "mobile home park": ["a trailer park", "mobile homes"],
        "resident": ["houses", "a residential area"]
    ]

    /// The phrase for a folder name: camel case split, `_`/`-` as spaces, lower case; a single leading
    /// lower-case letter before an upper-case one (RSSCN7's `aGrass`) is dropped.
    public static func phrase(forClass name: String) -> String {
        var characters = Array(name)
        if characters.count > 2, characters[0].isLowercase, characters[1].isUppercase { characters.removeFirst() }
        var words: [String] = []
        var current = ""
        for (i, c) in characters.enumerated() {
            if c == "_" || c == "-" || c == " " {
                if !current.isEmpty { words.append(current); current = "" }
                continue
            }
            let previous = i > 0 ? characters[i - 1] : " "
            if c.isUppercase, !current.isEmpty, previous.isLowercase || previous.isNumber {
                words.append(current); current = ""
            }
            current.append(c)
        }
        if !current.isEmpty { words.append(current) }
        return words.map { $0.lowercased() }.joined(separator: " ")
    }

    /// Every prompt for a class: each template with the class phrase, and with each synonym when asked.
    public static func prompts(forClass name: String, includeSynonyms: Bool) -> [String] {
        let phrase = phrase(forClass: name)
        var phrases = [phrase]
        if includeSynonyms { phrases += synonyms[phrase] ?? [] }
        return phrases.flatMap { p in templates.map { $0.replacingOccurrences(of: "{}", with: p) } }
    }
}
