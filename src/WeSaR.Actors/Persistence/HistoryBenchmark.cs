using System.Diagnostics;
using Akka.Actor;
using Akka.Persistence;
using Akka.Persistence.Query;
using Akka.Persistence.Sql.Query;
using Akka.Streams;
using Akka.Streams.Dsl;
using Microsoft.Data.Sqlite;
using WeSaR.Actors.Hosting;
using WeSaR.Actors.Sweeps;
using WeSaR.Training.Config;

namespace WeSaR.Actors.Persistence;

/// <summary>One query of the history benchmark: rows read, median time, and its ratio to the raw SQL baseline.</summary>
public sealed record HistoryQueryTime(string Query, int Rows, double MedianMs, double? VsBaseline);

/// <summary>
/// The read side's query latency over a journal of N synthetic events (one sweep of 100 runs with checkpoints,
/// spikes and rollbacks), against a raw SQL read of the same rows measured in the same run (SQLite only).
/// </summary>
public static class HistoryBenchmark
{
    public static async Task<IReadOnlyList<HistoryQueryTime>> Run(OrchestratorSettings settings, Akka.Configuration.Config config, int events, int repeats,
        Action<string> say)
    {
        var scratch = Directory.CreateTempSubdirectory("wesar-bench-history-").FullName;
        try
        {
            await using var host = OrchestratorHost.Start(settings, config, scratch);
            var sweep = new SweepId($"bench-{Guid.NewGuid():N}"[..14]);
            var journal = Synthetic(sweep, events);
            say($"bench history: writing {journal.Count:N0} events of one sweep ({settings.Journal.Provider} journal)...");
            var write = Stopwatch.StartNew();
            var writer = host.System.ActorOf(Props.Create(() => new Writer("sweep-" + sweep)));
            foreach (var chunk in journal.Chunk(1000)) await writer.Ask<Done>(chunk, TimeSpan.FromMinutes(5));
            say($"written in {write.Elapsed.TotalSeconds:F1} s ({journal.Count / write.Elapsed.TotalSeconds:N0} events/s)");

            var read = PersistenceQuery.Get(host.System).ReadJournalFor<SqlReadJournal>(SqlReadJournal.Identifier);
            var mat = host.System.Materializer();
            var queries = new List<(string Name, Func<Task<int>> Query)>
            {
                ("events of the sweep (read journal, by persistence id)", async () => (await host.History.Events(sweep)).Count),
                ("run records of the sweep (events + projection)", async () => (await host.History.Runs(sweep)).Count),
                ("state of the sweep (events + fold)", async () => (await host.History.Load(sweep))!.Runs.Count),
                ("spike events of all sweeps (by tag)", () => read.CurrentEventsByTag("spike", Offset.NoOffset()).RunAggregate(0, (n, _) => n + 1, mat)),
            };
            if (settings.Journal.Provider == JournalProvider.Sqlite)
                queries.Insert(0, ("baseline: raw SQL read + deserialize of the same rows", () => Task.FromResult(RawRead(host, settings, sweep, scratch))));

            var results = new List<HistoryQueryTime>();
            double? baseline = null;
            foreach (var (name, query) in queries)
            {
                var times = new List<double>();
                var rows = 0;
                for (var i = 0; i < repeats; i++)
                {
                    var sw = Stopwatch.StartNew();
                    rows = await query();
                    times.Add(sw.Elapsed.TotalMilliseconds);
                }
                var median = times.Order().ElementAt(times.Count / 2);
                baseline ??= results.Count == 0 && settings.Journal.Provider == JournalProvider.Sqlite ? median : null;
                results.Add(new HistoryQueryTime(name, rows, median, baseline is { } b ? median / b : null));
            }
            return results;
        }
        finally
        {
            SqliteConnection.ClearAllPools();
            Directory.Delete(scratch, recursive: true);
        }
    }

    /// <summary>100 runs (tiny preset, seeds 1..100): assignment, checkpoints, a spike and rollback every 50 checkpoints, completion.</summary>
    static List<ISweepEvent> Synthetic(SweepId sweep, int total)
    {
        const int runs = 100;
        var config = ConfigLoader.Canonical(ConfigLoader.Load(null, ["data.path=corpus.txt"]).Config);
        var specs = Enumerable.Range(1, runs).Select(i => new RunSpec(new RunId($"r{i:D4}"), $"seed={i}", config.Replace("run.seed = \"1337\"", $"run.seed = \"{i}\""))).ToList();
        var list = new List<ISweepEvent> { new SweepStarted(sweep, "bench", specs, 3, DateTime.UtcNow) };
        var perRun = Math.Max(3, (total - list.Count) / runs - 2);
        foreach (var s in specs)
        {
            list.Add(new RunAssigned(sweep, s.Id, "node", "cpu-0", "cpu", 0));
            for (var k = 1; k <= perRun; k++)
            {
                if (k % 50 == 0)
                {
                    list.Add(new SpikeDetected(sweep, s.Id, k * 10 + 3, "z-score", "loss", 9.5, 2.5, 0.1, 3.1));
                    list.Add(new RolledBack(sweep, s.Id, k * 10 + 3, k * 10 - 10, "sha", 13, 1.0));
                    k++;
                }
                list.Add(new CheckpointCommitted(sweep, s.Id, k * 10, $"{k:x64}"));
            }
            list.Add(new RunCompleted(sweep, s.Id, new FinalMetrics(perRun * 10, 2.5, 12.2, 2.4, 1000, "sha", perRun / 50, perRun / 50)));
        }
        return list;
    }

    static int RawRead(OrchestratorHost host, OrchestratorSettings settings, SweepId sweep, string workdir)
    {
        var serializer = new ProtocolSerializer((ExtendedActorSystem)host.System);
        using var c = new SqliteConnection($"Data Source={Path.Combine(workdir, settings.Journal.SqliteFile)}");
        c.Open();
        using var cmd = c.CreateCommand();
        cmd.CommandText = "SELECT message, manifest FROM journal WHERE persistence_id = $p ORDER BY sequence_number";
        cmd.Parameters.AddWithValue("$p", "sweep-" + sweep);
        using var r = cmd.ExecuteReader();
        var n = 0;
        while (r.Read())
        {
            _ = serializer.FromBinary((byte[])r[0], r.GetString(1));
            n++;
        }
        return n;
    }

    sealed record Done;

    /// <summary>Persists what it is sent, as one atomic batch per message.</summary>
    sealed class Writer : ReceivePersistentActor
    {
        public override string PersistenceId { get; }

        public Writer(string id)
        {
            PersistenceId = id;
            Command<ISweepEvent[]>(batch =>
            {
                var replyTo = Sender;
                PersistAll(batch, e => { if (ReferenceEquals(e, batch[^1])) replyTo.Tell(new Done()); });
            });
        }
    }
}
