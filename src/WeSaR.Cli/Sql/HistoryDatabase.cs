using System.Text.Json;
using DuckDB.NET.Data;
using WeSaR.Actors.Persistence;
using WeSaR.Actors.Queries;
using WeSaR.Actors.Sweeps;
using WeSaR.Training.Loop;

namespace WeSaR.Cli.Sql;

/// <summary>A query's result: its column names and its rows, each value as DuckDB.NET gives it (null for NULL).</summary>
public sealed record SqlResult(IReadOnlyList<string> Columns, IReadOnlyList<object?[]> Rows);

/// <summary>
/// The run history in an in-memory DuckDB database: the tables <c>runs</c> (one row per run, as `runs list` shows
/// it) and <c>events</c> (every journal event), loaded from the journal's read side, so SQLite and PostgreSQL
/// journals alike; and the view <c>metrics</c>, read from the run folders' metrics files when a query reads it.
/// </summary>
public sealed class HistoryDatabase : IDisposable
{
    /// <summary>The tables and views a query can read, in the order `--parquet` writes them.</summary>
    public static readonly IReadOnlyList<string> Views = ["runs", "events", "metrics"];

    static readonly Column<RunRecord>[] RunColumns =
    [
        new("sweep", "VARCHAR", r => r.Sweep), new("run", "VARCHAR", r => r.Run), new("label", "VARCHAR", r => r.Label),
        new("scheme", "VARCHAR", r => r.Scheme), new("lr", "DOUBLE", r => r.Lr), new("seed", "BIGINT", r => r.Seed),
        new("state", "VARCHAR", r => r.State.Name()), new("step", "BIGINT", r => r.Step), new("steps", "BIGINT", r => r.Steps),
        new("spikes", "INTEGER", r => r.Spikes), new("rollbacks", "INTEGER", r => r.Rollbacks), new("restarts", "INTEGER", r => r.Restarts),
        new("val_loss", "DOUBLE", r => r.ValLoss), new("val_ppl", "DOUBLE", r => r.ValPpl), new("last_loss", "DOUBLE", r => r.LastLoss),
        new("tokens_per_s", "DOUBLE", r => r.TokensPerS), new("wall_seconds", "DOUBLE", r => r.WallSeconds),
        new("node", "VARCHAR", r => r.Node), new("slot", "VARCHAR", r => r.Slot), new("device", "VARCHAR", r => r.Device),
        new("failure", "VARCHAR", r => r.Failure), new("started_utc", "TIMESTAMP", r => r.StartedUtc), new("ended_utc", "TIMESTAMP", r => r.EndedUtc),
        new("model_sha256", "VARCHAR", r => r.ModelSha256), new("config", "JSON", r => SqlText.ConfigJson(r.Config)),
    ];

    // The payload is the event as the journal stores it (its JSON under its manifest).
    static readonly Column<JournalEvent>[] EventColumns =
    [
        new("sweep", "VARCHAR", e => e.Event.Sweep.Value), new("run", "VARCHAR", e => (e.Event as IRunEvent)?.Run.Value),
        new("seq", "BIGINT", e => e.SequenceNr), new("journal_offset", "BIGINT", e => e.Offset), new("at_utc", "TIMESTAMP", e => e.AtUtc),
        new("event", "VARCHAR", e => e.Event.GetType().Name), new("manifest", "VARCHAR", e => ProtocolSerializer.ManifestOf(e.Event.GetType())),
        new("step", "BIGINT", e => SqlText.EventStep(e.Event)),
        new("payload", "JSON", e => JsonSerializer.Serialize(e.Event, e.Event.GetType(), ProtocolSerializer.Json)),
    ];

    readonly DuckDBConnection connection = new("DataSource=:memory:");

    HistoryDatabase(IReadOnlyList<SweepRead> sweeps, string sharedDir)
    {
        connection.Open();
        var runs = sweeps.SelectMany(s => s.Runs).ToList();
        Load("runs", [.. RunColumns, .. SqlText.GridColumns(runs)], runs);
        Load("events", EventColumns, sweeps.SelectMany(s => s.Events).ToList());
        var files = sweeps.SelectMany(s => s.State.Runs.Select(r => (Sweep: s.State.Id.Value, Run: r.Id.Value,
            Path: Path.GetFullPath(Path.Combine(r.Spec.Dir(sharedDir, s.State.Id), MetricsLog.FileName))))).Where(f => File.Exists(f.Path)).ToList();
        Execute(SqlText.MetricsView(files));
    }

    /// <summary>Every sweep of the journal; <paramref name="sharedDir"/> is where the run folders are.</summary>
    public static async Task<HistoryDatabase> Open(SweepHistory history, string sharedDir)
    {
        var sweeps = new List<SweepRead>();
        foreach (var id in await history.SweepIds())
            if (await history.Read(id) is { } read) sweeps.Add(read);
        return new HistoryDatabase(sweeps, sharedDir);
    }

    /// <summary>
    /// Runs a query (a <see cref="DuckDBException"/> says what is wrong with it) and reads its whole result; of
    /// several statements, each runs in turn and the last one's result is it.
    /// </summary>
    public SqlResult Query(string sql)
    {
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        using var reader = command.ExecuteReader();
        SqlResult result;
        do
        {
            var rows = new List<object?[]>();
            while (reader.Read())
                rows.Add(Enumerable.Range(0, reader.FieldCount).Select(i => reader.IsDBNull(i) ? null : reader.GetValue(i)).ToArray());
            result = new SqlResult(Enumerable.Range(0, reader.FieldCount).Select(reader.GetName).ToList(), rows);
        } while (reader.NextResult());
        return result;
    }

    /// <summary>Writes a table, a view or a query's result (<see cref="SqlText.CopySource"/>) to a Parquet file; returns its row count.</summary>
    public long Parquet(string source, string path) => Execute(SqlText.Copy(source, path));

    long Execute(string sql)
    {
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        return command.ExecuteNonQuery();
    }

    void Load<T>(string table, IReadOnlyList<Column<T>> columns, IReadOnlyList<T> rows)
    {
        Execute($"CREATE TABLE {table} ({string.Join(", ", columns.Select(c => $"{c.Name} {c.Type}"))})");
        using var appender = connection.CreateAppender(table);
        foreach (var item in rows)
        {
            var row = appender.CreateRow();
            foreach (var c in columns)
                row = c.Value(item) switch
                {
                    null => row.AppendNullValue(),
                    string s => row.AppendValue(s),
                    double d => row.AppendValue(d),
                    long l => row.AppendValue(l),
                    int i => row.AppendValue(i),
                    DateTime t => row.AppendValue(t),
                    var v => throw new ArgumentException($"no SQL type for {v.GetType()} in column {c.Name}"),
                };
            row.EndRow();
        }
    }

    public void Dispose() => connection.Dispose();
}
