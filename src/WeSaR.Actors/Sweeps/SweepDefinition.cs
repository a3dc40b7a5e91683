using System.Security.Cryptography;
using System.Text;
using Akka.Configuration;
using WeSaR.Training.Config;
using WeSaR.Training.Data;

namespace WeSaR.Actors.Sweeps;

/// <summary>
/// A sweep file (hocon/sweeps/*.conf): a <c>sweep { name, base, grid, max-restarts }</c> section plus any
/// train.conf keys, which apply to every run. The grid mirrors the config tree with a list at each leaf;
/// every combination of the lists is one run.
/// </summary>
public sealed record SweepDefinition(SweepId Id, string Name, int MaxRestarts, IReadOnlyList<RunSpec> Runs)
{
    // Keys that name or place a run without changing what it computes.
    static readonly string[] SweepKeys = ["sweep.name", "sweep.base", "sweep.max-restarts"];

    static readonly HashSet<string> NotIdentity = ["run.dir", "run.name", "run.device", "run.threads", "run.tensorboard", "train.stop-at", "checkpoint.memory"];

    // Keys (or whole sections) added after sweeps were first hashed, each with the test for the value that computes what
    // runs computed before they existed: there every key under it is left out, so a run keeps the id it had and
    // `sweep run` of an old file still finds its sweep.
    static readonly Dictionary<string, Func<Config, bool>> AddedLater = new()
    {
        ["optim.z-loss"] = c => c.GetDouble("optim.z-loss") == 0,
        ["model.qk-norm"] = c => !c.GetBoolean("model.qk-norm"),
        ["optim.zclip"] = c => !c.GetBoolean("optim.zclip.enabled"),
        ["spike.rollback.reset-moments"] = c => !c.GetBoolean("spike.rollback.reset-moments"),
        ["spike.rollback.rewarmup-steps"] = c => !c.GetBoolean("spike.rollback.reset-moments"),
        ["spike.risk"] = c => !c.GetBoolean("spike.risk.enabled"),
        ["spike.replay"] = c => !c.GetBoolean("spike.replay"),
        ["faults.transient-steps"] = c => c.GetStringList("faults.transient-steps").Count == 0,
    };

    /// <summary>What a run's id hashes: every key that changes what it computes, in canonical form.</summary>
    public static string Identity(Config config) =>
        ConfigLoader.Canonical(config, k => !NotIdentity.Contains(k) && !AddedLater.Any(a => Under(k, a.Key) && a.Value(config)));

    static bool Under(string key, string prefix) =>
        key == prefix || (key.StartsWith(prefix, StringComparison.Ordinal) && key[prefix.Length] == '.');

    /// <param name="overrides">--set key=value for every run; they win over the grid.</param>
    /// <param name="defaultMaxRestarts">orchestrator.restarts.max, used when the file does not set sweep.max-restarts.</param>
    public static SweepDefinition Load(string file, IEnumerable<string> overrides, int defaultMaxRestarts)
    {
        if (!File.Exists(file)) throw new ConfigException([$"sweep file not found: {file}"]);
        var raw = HoconSyntax.Parse(File.ReadAllText(file), file);
        var problems = new List<string>();
        var name = raw.GetString("sweep.name", Path.GetFileNameWithoutExtension(file));
        if (!System.Text.RegularExpressions.Regex.IsMatch(name, "^[A-Za-z0-9._-]+$"))
            problems.Add($"sweep.name may hold letters, digits, '.', '_' and '-' only, got '{name}'");
        var files = new List<string> { file };
        if (raw.GetString("sweep.base", "") is { Length: > 0 } b)
            files.Add(Path.GetFullPath(Path.Combine(Path.GetDirectoryName(Path.GetFullPath(file))!, b)));
        var grid = raw.HasPath("sweep.grid") ? raw.GetConfig("sweep.grid") : Config.Empty;
        var axes = grid.IsEmpty ? [] : ConfigLoader.Leaves(grid.Root, "").Select(k => (Key: k, Values: Values(grid, k))).ToList();
        var trainKeys = ConfigLoader.Leaves(ConfigLoader.Defaults.Root, "").ToList();
        foreach (var (k, v) in axes)
        {
            if (!ConfigLoader.Defaults.HasPath(k)) problems.Add($"{file}: {ConfigLoader.UnknownKey(k, trainKeys, "sweep.grid.")}");
            if (v.Count == 0) problems.Add($"{file}: sweep.grid.{k} must be a non-empty list");
        }
        var leaves = ConfigLoader.Leaves(raw.Root, "").ToList();
        problems.AddRange(leaves.Where(k => k.StartsWith("sweep.", StringComparison.Ordinal) && !k.StartsWith("sweep.grid.", StringComparison.Ordinal)
            && !SweepKeys.Contains(k)).Select(k => $"{file}: {ConfigLoader.UnknownKey(k, SweepKeys)}"));
        // Every run shares the keys outside sweep.grid, so a list there is a grid axis in the wrong place.
        problems.AddRange(leaves.Where(k => !k.StartsWith("sweep.", StringComparison.Ordinal) && raw.GetValue(k).IsArray()
            && ConfigLoader.Defaults.HasPath(k) && !ConfigLoader.IsList(ConfigLoader.Defaults.GetValue(k)))
            .Select(k => $"{file}: {k} is a list, and lists belong in sweep.grid: sweep.grid {{ {k} = [...] }}"));
        if (problems.Count > 0) throw new ConfigException(problems);

        var runs = new List<RunSpec>();
        var seen = new HashSet<RunId>();
        foreach (var point in Product(axes))
        {
            var sets = point.Select(p => $"{p.Key}={p.Value}").Concat(overrides);
            Config config;
            try
            {
                var layered = ConfigLoader.Layer(ConfigLoader.Defaults, sets, files, k => k.StartsWith("sweep.", StringComparison.Ordinal));
                var settings = TrainSettings.From(layered);   // check every run before anything starts
                CheckData(settings.Data.Path);
                config = ConfigurationFactory.ParseString($"data.path = {System.Text.Json.JsonSerializer.Serialize(AbsolutePaths(settings.Data.Path))}").WithFallback(settings.Source);
            }
            catch (ConfigException e)
            {
                throw new ConfigException(e.Problems.Select(p => point.Count == 0 ? p : $"[{Label(point)}] {p}").ToList());
            }
            var id = new RunId(Hash(Identity(config))[..12]);
            if (seen.Add(id)) runs.Add(new RunSpec(id, Label(point), ConfigLoader.Canonical(config)));
        }
        var sweepId = new SweepId($"{name}-{Hash(string.Join(",", runs.Select(r => r.Id.Value).Order(StringComparer.Ordinal)))[..8]}");
        return new SweepDefinition(sweepId, name, raw.GetInt("sweep.max-restarts", defaultMaxRestarts), runs);
    }

    static void CheckData(string path)
    {
        if (path == BuiltinCorpus.Name)
        {
            try { BuiltinCorpus.FindDocs(); return; }
            catch (FileNotFoundException e) { throw new ConfigException([$"data.path: {e.Message}"]); }
        }
        if (TokenFile.IsTokenFile(path)) return;
        try { DataPreparer.ExpandInputs([path]); }
        catch (Exception e) when (e is FileNotFoundException or ArgumentException) { throw new ConfigException([$"data.path: {e.Message}"]); }
    }

    static List<string> Values(Config grid, string key)
    {
        var v = grid.GetValue(key);
        return v.IsArray() ? v.GetArray().Select(x => x.GetString()).ToList() : [];
    }

    static IEnumerable<List<(string Key, string Value)>> Product(List<(string Key, List<string> Values)> axes) =>
        axes.Aggregate((IEnumerable<List<(string, string)>>)[[]],
            (acc, axis) => acc.SelectMany(prefix => axis.Values.Select(v => new List<(string, string)>(prefix) { (axis.Key, v) })));

    // Learning rates read as in every table (0.003 and 3e-3 are both "lr=3e-3").
    static string Label(List<(string Key, string Value)> point) =>
        point.Count == 0 ? "run" : string.Join(" ", point.Select(p => $"{Short(p.Key)}=" + (p.Key == "optim.lr"
            && double.TryParse(p.Value, System.Globalization.NumberStyles.Float, System.Globalization.CultureInfo.InvariantCulture, out var lr) ? LrFormat.Of(lr) : p.Value)));

    // A key by its last name, or a switch by its section's ("optim.zclip.enabled" reads "zclip").
    static string Short(string key)
    {
        var names = key.Split('.');
        return names.Length > 1 && names[^1] == "enabled" ? names[^2] : names[^1];
    }

    // Data paths are stored absolute so a resumed sweep finds its data from any working folder ("builtin" is no path).
    static string AbsolutePaths(string paths) =>
        string.Join(",", paths.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries)
            .Select(p => p == BuiltinCorpus.Name ? p : Path.GetFullPath(p)));

    static string Hash(string text) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(text)));
}
