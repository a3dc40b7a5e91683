using System.Text.RegularExpressions;
using Akka.Configuration.Hocon;

namespace WeSaR.Training.Config;

/// <summary>Builds a run's configuration: --set overrides, then the user's file, then the embedded defaults (hocon/train.conf).</summary>
public static partial class ConfigLoader
{
    public static Akka.Configuration.Config Defaults { get; } = HoconSyntax.Parse(ReadDefaults(), "train.conf");

    /// <summary>Loads and merges (see <see cref="Layer"/>).</summary>
    public static ConfigReader Load(string? file, IEnumerable<string> overrides) =>
        Layer(Defaults, overrides, file is null ? [] : [file]);

    /// <summary>
    /// Merges, highest precedence first: the <c>key=value</c> overrides (the last one wins), then the files in
    /// order, then <paramref name="defaults"/>. Every key must exist in the defaults unless <paramref name="foreign"/>
    /// says it belongs to someone else (such as a sweep file's own section). Input that cannot be read (a missing
    /// file, broken syntax, a --set without '=') throws <see cref="ConfigException"/> here, since checking the rest
    /// would only report its follow-on errors; unknown keys stay in the returned reader, so the caller's own checks
    /// report their problems with them.
    /// </summary>
    public static ConfigReader Layer(Akka.Configuration.Config defaults, IEnumerable<string> overrides,
        IEnumerable<string> files, Func<string, bool>? foreign = null)
    {
        var unreadable = new List<string>();
        var unknown = new List<string>();
        string Unknown(string key) => UnknownKey(key, Leaves(defaults.Root, ""));
        var config = Akka.Configuration.Config.Empty;
        foreach (var o in overrides)
        {
            var eq = o.IndexOf('=');
            if (eq <= 0) { unreadable.Add($"--set expects key=value, got '{o}'"); continue; }
            var key = o[..eq].Trim();
            try
            {
                var value = HoconSyntax.Parse($"{key} = {AsHoconValue(o[(eq + 1)..].Trim())}", $"--set {key}");
                if (defaults.HasPath(key)) config = value.WithFallback(config);
                else unknown.Add("--set " + Unknown(key));
            }
            catch (ConfigException e) { unreadable.AddRange(e.Problems); }
        }
        foreach (var file in files)
        {
            if (!File.Exists(file)) { unreadable.Add($"config file not found: {file}"); continue; }
            try
            {
                var fromFile = HoconSyntax.Parse(File.ReadAllText(file), file);
                unknown.AddRange(Leaves(fromFile.Root, "").Where(k => !defaults.HasPath(k) && foreign?.Invoke(k) != true)
                    .Select(k => $"{file}: {Unknown(k)}"));
                config = config.WithFallback(fromFile);
            }
            catch (ConfigException e) { unreadable.AddRange(e.Problems); }
        }
        if (unreadable.Count > 0) throw new ConfigException([.. unreadable, .. unknown]);
        var reader = new ConfigReader(config.WithFallback(defaults));
        unknown.ForEach(reader.Problem);
        return reader;
    }

    /// <summary>"key: unknown key", naming the nearest of <paramref name="known"/> when it is close enough to be a typo.</summary>
    public static string UnknownKey(string key, IEnumerable<string> known, string prefix = "")
    {
        var nearest = known.Select(k => (Key: k, Distance: EditDistance(key, k))).MinBy(x => x.Distance);
        var hint = nearest.Key is not null && nearest.Distance <= Math.Max(1, key.Length / 4) ? $" (did you mean {prefix}{nearest.Key}?)" : "";
        return $"{prefix}{key}: unknown key{hint}";
    }

    // Levenshtein distance: insertions, deletions and substitutions.
    static int EditDistance(string a, string b)
    {
        var row = Enumerable.Range(0, b.Length + 1).ToArray();
        for (var i = 1; i <= a.Length; i++)
        {
            var diagonal = row[0];
            row[0] = i;
            for (var j = 1; j <= b.Length; j++)
            {
                var above = row[j];
                row[j] = Math.Min(Math.Min(row[j] + 1, row[j - 1] + 1), diagonal + (a[i - 1] == b[j - 1] ? 0 : 1));
                diagonal = above;
            }
        }
        return row[b.Length];
    }

    /// <summary>
    /// Every key of the defaults with its value in <paramref name="config"/>, one `key = "value"` line each in key
    /// order: a stable text that parses back to the same settings, used to identify and store a run's config.
    /// </summary>
    public static string Canonical(Akka.Configuration.Config config, Func<string, bool>? include = null) =>
        string.Join("\n", Leaves(Defaults.Root, "").Where(k => include?.Invoke(k) != false).Order(StringComparer.Ordinal)
            .Select(k => $"{k} = {Quote(config.GetValue(k))}"));

    static string Quote(HoconValue v) =>
        IsList(v) ? "[" + string.Join(", ", v.GetArray().Select(Quote)) + "]" : System.Text.Json.JsonSerializer.Serialize(v.GetString());

    /// <summary>Whether a leaf value is a list. An empty list is neither an array nor a string to HOCON's reader, so it is recognised by its null string.</summary>
    public static bool IsList(HoconValue leaf) => leaf.IsArray() || leaf.GetString() is null;

    public static IEnumerable<string> Leaves(HoconValue value, string prefix) =>
        value.IsObject()
            ? value.GetObject().Items.SelectMany(kv => Leaves(kv.Value, prefix.Length == 0 ? kv.Key : $"{prefix}.{kv.Key}"))
            : [prefix];

    // Numbers, booleans, lists and quoted strings pass through; anything else (paths, names) is quoted,
    // because HOCON would cut an unquoted "a//b" at the comment or reject "cuda:0".
    static string AsHoconValue(string raw) =>
        raw.Length > 0 && (Literal().IsMatch(raw) || raw[0] is '[' or '{' or '"')
            ? raw
            : "\"" + raw.Replace("\\", "\\\\").Replace("\"", "\\\"") + "\"";

    [GeneratedRegex(@"^(-?\d+(\.\d+)?([eE][-+]?\d+)?|true|false|on|off|yes|no)$")]
    private static partial Regex Literal();

    static string ReadDefaults()
    {
        using var s = typeof(ConfigLoader).Assembly.GetManifestResourceStream("WeSaR.Training.train.conf")!;
        return new StreamReader(s).ReadToEnd();
    }
}
