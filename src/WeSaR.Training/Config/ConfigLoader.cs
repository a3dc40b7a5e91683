using System.Text.RegularExpressions;
using Akka.Configuration;
using Akka.Configuration.Hocon;

namespace WeSaR.Training.Config;

/// <summary>Builds a run's configuration: --set overrides, then the user's file, then the embedded defaults (hocon/train.conf).</summary>
public static partial class ConfigLoader
{
    public static Akka.Configuration.Config Defaults { get; } = ConfigurationFactory.ParseString(ReadDefaults());

    /// <summary>Loads and merges; unknown keys and unreadable files are reported as <see cref="ConfigException"/>.</summary>
    public static Akka.Configuration.Config Load(string? file, IEnumerable<string> overrides) =>
        Layer(Defaults, overrides, file is null ? [] : [file]);

    /// <summary>
    /// Merges, highest precedence first: the <c>key=value</c> overrides (the last one wins), then the files in
    /// order, then <paramref name="defaults"/>. Every key must exist in the defaults unless <paramref name="foreign"/>
    /// says it belongs to someone else (such as a sweep file's own section).
    /// </summary>
    public static Akka.Configuration.Config Layer(Akka.Configuration.Config defaults, IEnumerable<string> overrides,
        IEnumerable<string> files, Func<string, bool>? foreign = null)
    {
        var problems = new List<string>();
        var config = Akka.Configuration.Config.Empty;
        foreach (var o in overrides.Reverse())
        {
            var eq = o.IndexOf('=');
            if (eq <= 0) { problems.Add($"--set expects key=value, got '{o}'"); continue; }
            var key = o[..eq].Trim();
            if (!defaults.HasPath(key)) { problems.Add($"--set {key}: unknown key"); continue; }
            config = config.WithFallback(ConfigurationFactory.ParseString($"{key} = {AsHoconValue(o[(eq + 1)..].Trim())}"));
        }
        foreach (var file in files)
        {
            if (!File.Exists(file)) { problems.Add($"config file not found: {file}"); continue; }
            try
            {
                var fromFile = ConfigurationFactory.ParseString(File.ReadAllText(file));
                problems.AddRange(Leaves(fromFile.Root, "").Where(k => !defaults.HasPath(k) && foreign?.Invoke(k) != true)
                    .Select(k => $"{file}: unknown key {k}"));
                config = config.WithFallback(fromFile);
            }
            catch (Exception e) when (e is ConfigurationException or FormatException) { problems.Add($"{file}: {e.Message}"); }
        }
        if (problems.Count > 0) throw new ConfigException(problems);
        return config.WithFallback(defaults);
    }

    /// <summary>
    /// Every key of the defaults with its value in <paramref name="config"/>, one `key = "value"` line each in key
    /// order: a stable text that parses back to the same settings, used to identify and store a run's config.
    /// </summary>
    public static string Canonical(Akka.Configuration.Config config, Func<string, bool>? include = null) =>
        string.Join("\n", Leaves(Defaults.Root, "").Where(k => include?.Invoke(k) != false).Order(StringComparer.Ordinal)
            .Select(k => $"{k} = {Quote(config.GetValue(k))}"));

    // An empty list is neither an array nor a string to HOCON's reader, so it is recognised by its null string.
    static string Quote(HoconValue v) =>
        v.IsArray() || v.GetString() is null ? "[" + string.Join(", ", v.GetArray().Select(Quote)) + "]" : System.Text.Json.JsonSerializer.Serialize(v.GetString());

    /// <summary>Renders the merged configuration as HOCON, for the run folder.</summary>
    public static string Render(Akka.Configuration.Config config) => config.Root.ToString(2);

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
