using System.CommandLine;
using DuckDB.NET.Data;
using WeSaR.Cli.Sql;

namespace WeSaR.Cli.Commands;

/// <summary>`wesar sql`: SQL (DuckDB) over the run history, printed or written to Parquet.</summary>
public static class SqlCommand
{
    public static Command Create()
    {
        var query = new Argument<string?>("query")
        {
            Description = "A DuckDB query over the tables runs (one row per run), events (every journal event) and metrics "
                          + "(every logged step of every run), e.g. \"select scheme, lr, avg(val_loss), sum(spikes) from runs group by all\"",
            Arity = ArgumentArity.ZeroOrOne,
        };
        var json = new Option<bool>("--json") { Description = "Print the result as JSON (an array of one object per row) instead of a table" };
        var csv = new Option<bool>("--csv") { Description = "Print the result as CSV (a header line, then one line per row)" };
        var parquet = new Option<string?>("--parquet")
        {
            Description = "Write Parquet instead of printing: with a query, its result to this file; without one, "
                          + "runs.parquet, events.parquet and metrics.parquet into this folder (for pandas or polars)",
            HelpName = "path",
        };
        var cmd = new Command("sql", "SQL over the run history (DuckDB): runs, journal events and per-step metrics, as a table, CSV, JSON or Parquet; "
                                     + "see docs/sql.md for the columns and ready queries")
            { query, json, csv, parquet, HistoryAccess.Config, HistoryAccess.Set };
        cmd.SetAction((r, ct) => Run(r.GetValue(query), r.GetValue(json), r.GetValue(csv), r.GetValue(parquet), HistoryAccess.Source(r), r.GetValue(GlobalOptions.Workdir)!));
        return cmd;
    }

    static async Task<int> Run(string? query, bool json, bool csv, string? parquet, JournalSource source, string workdir)
    {
        if (new[] { json, csv, parquet is not null }.Count(x => x) > 1) return GlobalOptions.Fail("sql: choose one of --json, --csv and --parquet");
        if (string.IsNullOrWhiteSpace(query) && parquet is null) return GlobalOptions.Fail("sql: give a query, or --parquet <folder> to write the tables (see wesar sql --help)");
        return await HistoryAccess.With(source, workdir, async host =>
        {
            try
            {
                using var db = await HistoryDatabase.Open(host.History, host.SharedDir);
                if (parquet is not null) return Parquet(db, query, parquet);
                var result = db.Query(query!);
                if (json) Console.WriteLine(SqlOutput.Json(result));
                else if (csv) Console.Write(SqlOutput.Csv(result));
                else SqlOutput.Table(result);
                return 0;
            }
            // A query DuckDB rejects or cannot carry out (a file it cannot write, say): its reason, on one line.
            catch (DuckDBException e) { return GlobalOptions.Fail("sql: " + SqlText.OneLine(e.Message)); }
        });
    }

    static int Parquet(HistoryDatabase db, string? query, string path)
    {
        if (!string.IsNullOrWhiteSpace(query))
        {
            Console.Error.WriteLine($"wrote {db.Parquet(SqlText.CopySource(query), path)} row(s) to {path}");
            return 0;
        }
        Directory.CreateDirectory(path);
        foreach (var view in HistoryDatabase.Views)
        {
            var file = Path.Combine(path, view + ".parquet");
            Console.Error.WriteLine($"wrote {db.Parquet(view, file)} row(s) to {file}");
        }
        return 0;
    }
}
