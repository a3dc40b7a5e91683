using System.Text.RegularExpressions;
using Akka.Configuration;
using Akka.Configuration.Hocon;

namespace WeSaR.Training.Config;

/// <summary>Builds a run's configuration: --set overrides, then the user's file, then the embedded defaults (hocon/train.conf).</summary>
public static partial class ConfigLoader
{
    public static Akka.Configuration.Config Defaults { get; } = ConfigurationFactory.ParseString(ReadDefaults());

    /// <summary>Loads and merges; unknown keys and unreadable files are reported as <see cref="ConfigException"/>.</summary>
    public static Akka.Configuration.Config Load(string? file, IEnumerable<string> overrides)
    {
        var problems = new List<string>();
        var config = Akka.Configuration.Config.Empty;
        foreach (var o in overrides.Reverse())
        {
            var eq = o.IndexOf('=');
            if (eq <= 0) { problems.Add($"--set expects key=value, got '{o}'"); continue; }
            var key = o[..eq].Trim();
            if (!Defaults.HasPath(key)) { problems.Add($"--set {key}: unknown key (see hocon/train.conf)"); continue; }
            config = config.WithFallback(ConfigurationFactory.ParseString($"{key} = {AsHoconValue(o[(eq + 1)..].Trim())}"));
        }
        if (file is not null)
        {
            if (!File.Exists(file)) problems.Add($"config file not found: {file}");
            else
            {
                try
                {
                    var fromFile = ConfigurationFactory.ParseString(File.ReadAllText(file));
                    problems.AddRange(Leaves(fromFile.Root, "").Where(k => !Defaults.HasPath(k)).Select(k => $"{file}: unknown key {k} (see hocon/train.conf)"));
                    config = config.WithFallback(fromFile);
                }
                catch (Exception e) when (e is ConfigurationException or FormatException) { problems.Add($"{file}: {e.Message}"); }
            }
        }
        if (problems.Count > 0) throw new ConfigException(problems);
        return config.WithFallback(Defaults);
    }

    /// <summary>Renders the merged configuration as HOCON, for the run folder.</summary>
    public static string Render(Akka.Configuration.Config config) => config.Root.ToString(2);

    static IEnumerable<string> Leaves(HoconValue value, string prefix) =>
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
