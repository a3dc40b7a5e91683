using System.Globalization;
using System.Reflection;
using System.Text.Json;
using System.Text.Json.Nodes;
using WeSaR.Actors.Queries;
using WeSaR.Actors.Sweeps;
using WeSaR.Training.Loop;

namespace WeSaR.Cli.Sql;

/// <summary>A column of a table loaded into DuckDB: its name, its SQL type and how a row gives its value.</summary>
public sealed record Column<T>(string Name, string Type, Func<T, object?> Value);

/// <summary>The SQL that <see cref="HistoryDatabase"/> runs, and the decisions behind it, as pure functions.</summary>
public static class SqlText
{
    /// <summary>A SQL string literal.</summary>
    public static string Literal(string s) => "'" + s.Replace("'", "''") + "'";

    /// <summary>
    /// DuckDB's message on one line: its reason and any hint ("Did you mean ..."), without the echo of the query
    /// and the caret under it, which only make sense in a terminal of their own.
    /// </summary>
    public static string OneLine(string message) =>
        string.Join(" ", message.Split('\n').Select(l => l.Trim()).TakeWhile(l => !l.StartsWith("LINE ", StringComparison.Ordinal))
            .Where(l => l.Length > 0));

    /// <summary>A query as the source of COPY: without the trailing semicolons one types at a prompt.</summary>
    public static string CopySource(string query) => "(" + query.TrimEnd().TrimEnd(';').TrimEnd() + ")";

    public static string Copy(string source, string path) => $"COPY {source} TO {Literal(path)} (FORMAT parquet)";

    /// <summary>The keys and values of a run's canonical config (each line <c>key = value</c>, the value in JSON).</summary>
    public static IReadOnlyDictionary<string, JsonNode?> ConfigValues(string canonical) =>
        canonical.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => l.Split(" = ", 2))
            .ToDictionary(kv => kv[0], kv => JsonNode.Parse(kv[1]), StringComparer.Ordinal);

    /// <summary>The config as one JSON object, so <c>config->>'model.qk-norm'</c> reads any key.</summary>
    public static string ConfigJson(string canonical) =>
        new JsonObject(ConfigValues(canonical).Select(kv => KeyValuePair.Create(kv.Key, kv.Value?.DeepClone()))).ToJsonString();

    // Keys that are columns of their own already (scheme, lr, seed, steps).
    static readonly HashSet<string> Fixed = ["init.scheme", "optim.lr", "run.seed", "train.steps"];

    /// <summary>
    /// A column for each other grid key: a config key whose value differs between the runs of one sweep, named
    /// with underscores (model.qk-norm is <c>model_qk_norm</c>); a number where every run's value is one.
    /// </summary>
    public static IReadOnlyList<Column<RunRecord>> GridColumns(IReadOnlyList<RunRecord> runs)
    {
        var configs = runs.ToDictionary(r => (r.Sweep, r.Run), r => ConfigValues(r.Config));
        var keys = runs.GroupBy(r => r.Sweep)
            .SelectMany(sweep => sweep.SelectMany(r => configs[(r.Sweep, r.Run)].Keys).Distinct()
                .Where(k => sweep.Select(r => Text(configs[(r.Sweep, r.Run)].GetValueOrDefault(k))).Distinct().Count() > 1))
            .Where(k => !Fixed.Contains(k)).Distinct().Order(StringComparer.Ordinal).ToList();
        return keys.Select(k =>
        {
            string? Value(RunRecord r) => Text(configs[(r.Sweep, r.Run)].GetValueOrDefault(k));
            var numeric = runs.Select(Value).All(v => v is null || Number(v) is not null);
            return new Column<RunRecord>(ColumnName(k), numeric ? "DOUBLE" : "VARCHAR", r => numeric ? Number(Value(r)) : Value(r));
        }).ToList();
    }

    public static string ColumnName(string key) => string.Concat(key.Select(c => char.IsAsciiLetterOrDigit(c) ? c : '_'));

    // A string value as itself, a list as its JSON.
    static string? Text(JsonNode? v) => v is JsonValue s && s.TryGetValue(out string? text) ? text : v?.ToJsonString();

    static double? Number(string? s) => double.TryParse(s, NumberStyles.Float, CultureInfo.InvariantCulture, out var d) ? d : null;

    /// <summary>The step an event is about, where it has one (a rollback's is the step it rolls back from).</summary>
    public static long? EventStep(ISweepEvent e) => e switch
    {
        CheckpointCommitted c => c.Step,
        CheckpointRejected x => x.Step,
        SpikeDetected d => d.Step,
        SpikeRiskRaised k => k.Step,
        SpikeRiskCleared k => k.Step,
        SpikeClassified v => v.Step,
        RolledBack b => b.FromStep,
        RunCompleted c => c.Metrics.Step,
        RunFailed f => f.Step,
        RunInterrupted x => x.Step,
        _ => null,
    };

    /// <summary>The columns of metrics.jsonl, named and typed from <see cref="MetricsLine"/> (maps of named values are JSON).</summary>
    public static readonly IReadOnlyList<(string Name, string Type)> MetricsColumns = typeof(MetricsLine)
        .GetProperties(BindingFlags.Public | BindingFlags.Instance)
        .Select(p => (JsonNamingPolicy.SnakeCaseLower.ConvertName(p.Name), (Nullable.GetUnderlyingType(p.PropertyType) ?? p.PropertyType) switch
        {
            var t when t == typeof(long) => "BIGINT",
            var t when t == typeof(double) => "DOUBLE",
            var t when t == typeof(string) => "VARCHAR",
            _ => "JSON",
        })).ToList();

    /// <summary>
    /// The metrics view: every line of the given metrics files with the sweep and run it belongs to. A line half
    /// written as we read (a running run) is left out; with no files it is an empty table of the same columns.
    /// </summary>
    public static string MetricsView(IReadOnlyList<(string Sweep, string Run, string Path)> files)
    {
        if (files.Count == 0)
            return $"CREATE TABLE metrics (sweep VARCHAR, run VARCHAR, {string.Join(", ", MetricsColumns.Select(c => $"{c.Name} {c.Type}"))})";
        var columns = string.Join(", ", MetricsColumns.Select(c => $"{c.Name}: {Literal(c.Type)}"));
        var paths = string.Join(", ", files.Select(f => Literal(f.Path)));
        var owners = string.Join(", ", files.Select(f => $"({Literal(f.Path)}, {Literal(f.Sweep)}, {Literal(f.Run)})"));
        return $$"""
            CREATE VIEW metrics AS SELECT f.sweep, f.run, {{string.Join(", ", MetricsColumns.Select(c => "m." + c.Name))}}
            FROM read_json([{{paths}}], format = 'newline_delimited', filename = true, ignore_errors = true, columns = {{{columns}}}) m
            JOIN (VALUES {{owners}}) f(path, sweep, run) ON f.path = m.filename
            WHERE m.step IS NOT NULL
            """;
    }
}
