using Akka.Configuration;

namespace WeSaR.Training.Config;

/// <summary>One syntax problem in HOCON text: its 1-based line and what is wrong.</summary>
public readonly record struct SyntaxProblem(int Line, string Message);

/// <summary>
/// A scan of HOCON text before Akka's parser sees it. That parser loops forever, its memory growing without bound,
/// on an unclosed '[' followed by more text, and silently accepts an unclosed '{' or string, a stray ']' or '}' and
/// a key without a value. The scan follows quoted and triple-quoted strings, escapes and comments, so brackets
/// inside them do not count.
/// </summary>
public static class HoconSyntax
{
    /// <summary>Every problem found, in the order found (brackets still open at the end last, by the line they open on).</summary>
    public static IReadOnlyList<SyntaxProblem> Check(string text)
    {
        var problems = new List<SyntaxProblem>();
        // Open brackets, each with the key path it belongs to (for messages about the keys inside it).
        var open = new Stack<(char Bracket, int Line, string Path)>();
        var line = 1;
        // Where the current field of the innermost object is; arrays have no fields.
        var field = Field.Key;
        var keyStart = -1;
        var key = "";
        bool InObject() => open.Count == 0 || open.Peek().Bracket == '{';
        void Problem(int at, string message) => problems.Add(new(at, message));
        void Opened(int at, string token) => Problem(at, $"'{token}' opened here is never closed");
        string Path(string name) => open.Count == 0 || open.Peek().Path.Length == 0 ? name : $"{open.Peek().Path}.{name}";
        void NoValue() => Problem(line, $"{Path(key)} has no value");
        void EndOfValue()
        {
            if (InObject() && field == Field.Separated) NoValue();
            field = Field.Key;
            keyStart = -1;
        }
        void Token(int i)
        {
            if (field == Field.Separated) field = Field.Value;
            else if (field == Field.Key && keyStart < 0) keyStart = i;
        }

        for (var i = 0; i < text.Length; i++)
        {
            var c = text[i];
            switch (c)
            {
                case '\n':
                    if (InObject()) EndOfValue();
                    line++;
                    break;
                case ' ' or '\t' or '\r':
                    break;
                case '#':
                case '/' when i + 1 < text.Length && text[i + 1] == '/':
                    while (i + 1 < text.Length && text[i + 1] != '\n') i++;
                    break;
                case '"' when string.CompareOrdinal(text, i, "\"\"\"", 0, 3) == 0:
                {
                    Token(i);
                    var end = text.IndexOf("\"\"\"", i + 3, StringComparison.Ordinal);
                    if (end < 0)
                    {
                        Opened(line, "\"\"\"");
                        return problems;   // the rest of the text is inside the string
                    }
                    while (end + 3 < text.Length && text[end + 3] == '"') end++;   // extra quotes belong to the string
                    line += text.AsSpan(i, end - i).Count('\n');
                    i = end + 2;
                    break;
                }
                case '"':
                {
                    Token(i);
                    var j = i + 1;
                    while (j < text.Length && text[j] is not ('"' or '\n'))
                        j += text[j] == '\\' && j + 1 < text.Length && text[j + 1] != '\n' ? 2 : 1;
                    if (j >= text.Length || text[j] == '\n')
                    {
                        Opened(line, "\"");
                        i = j - 1;   // the newline still ends the field
                    }
                    else i = j;
                    break;
                }
                case '$' when i + 1 < text.Length && text[i + 1] == '{':
                {
                    Token(i);
                    var end = text.IndexOfAny(['}', '\n'], i);
                    if (end < 0 || text[end] == '\n')
                    {
                        Opened(line, "${");
                        i = (end < 0 ? text.Length : end) - 1;
                    }
                    else i = end;
                    break;
                }
                case '{' or '[':
                    var name = !InObject() ? "" : field == Field.Key ? (keyStart < 0 ? "" : text[keyStart..i].Trim()) : key;
                    Token(i);
                    open.Push((c, line, name.Length == 0 && open.Count > 0 ? open.Peek().Path : Path(name)));
                    field = Field.Key;
                    keyStart = -1;
                    break;
                case '}' or ']':
                {
                    var opener = c == '}' ? '{' : '[';
                    if (!open.Any(o => o.Bracket == opener))
                    {
                        Problem(line, $"unexpected '{c}'");
                        break;
                    }
                    // It closes the nearest opener of its kind: what was opened inside that is never closed.
                    while (open.Peek().Bracket != opener)
                    {
                        var (inner, at, _) = open.Pop();
                        Opened(at, inner.ToString());
                    }
                    if (c == '}') EndOfValue();
                    open.Pop();
                    field = Field.Value;
                    break;
                }
                case ',':
                    if (InObject()) EndOfValue();
                    break;
                case '=' or ':' when InObject() && field == Field.Key:
                    key = keyStart < 0 ? "" : text[keyStart..i].TrimEnd().TrimEnd('+').TrimEnd();   // "+=" appends
                    if (key.Length == 0) Problem(line, $"'{c}' has no key before it");
                    field = Field.Separated;
                    break;
                default:
                    Token(i);
                    break;
            }
        }
        if (InObject() && field == Field.Separated) NoValue();
        foreach (var (bracket, at, _) in open.Reverse()) Opened(at, bracket.ToString());
        return problems;
    }

    /// <summary>
    /// Checks, then parses; every problem, Akka's parser's own included, comes as a <see cref="ConfigException"/>
    /// saying "source:line: what is wrong" (one-line text, such as a --set value, gets no line number).
    /// </summary>
    public static Akka.Configuration.Config Parse(string text, string source)
    {
        var problems = Check(text);
        var where = text.Contains('\n') ? (Func<int, string>)(line => $"{source}:{line}") : _ => source;
        if (problems.Count > 0) throw new ConfigException(problems.Select(p => $"{where(p.Line)}: {p.Message}").ToList());
        try { return ConfigurationFactory.ParseString(text); }
        catch (Exception e) when (e is ConfigurationException or FormatException) { throw new ConfigException([$"{source}: {e.Message}"]); }
    }

    enum Field { Key, Separated, Value }
}
