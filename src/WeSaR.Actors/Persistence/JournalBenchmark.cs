using System.Data.Common;
using System.Diagnostics;
using Akka.Actor;
using Akka.Persistence;
using Akka.Persistence.Query;
using Akka.Persistence.Sql.Query;
using Akka.Streams;
using Akka.Streams.Dsl;
using Microsoft.Data.Sqlite;
using Npgsql;
using WeSaR.Actors.Hosting;
using WeSaR.Actors.Queries;
using WeSaR.Actors.Sweeps;
using WeSaR.Training.Config;

namespace WeSaR.Actors.Persistence;

/// <summary>One figure of the journal benchmark: what was timed over how many events, its median, and its ratio to the
/// figure it is measured against (null for a baseline).</summary>
public sealed record JournalFigure(string Part, string What, int Events, double MedianMs, double? VsBaseline)
{
    public double EventsPerSecond => Events / (MedianMs / 1e3);
}

/// <summary>
/// `wesar bench journal` on the configured journal (SQLite or PostgreSQL), over synthetic sweeps of 100 runs with
/// checkpoints, spikes and rollbacks: events persisted per second one awaited command at a time (the coordinator's
/// pattern) against batches of 1000; a real <see cref="SweepCoordinator"/>'s recovery (creation to its first answer)
/// of 10k and N events from the journal alone against from a snapshot of its state; and the read side's queries
/// against a raw SQL read and deserialization of the same rows. Within each part the timings alternate.
/// </summary>
public static class JournalBenchmark
{
    const int Batch = 1000, Runs = 100;

    public static async Task<IReadOnlyList<JournalFigure>> Run(OrchestratorSettings settings, Akka.Configuration.Config config, int events, int singles,
        int repeats, Action<string> say)
    {
        var scratch = Directory.CreateTempSubdirectory("wesar-bench-journal-").FullName;
        var prefix = $"bench{Guid.NewGuid():N}"[..13];
        try
        {
            await using var host = OrchestratorHost.Start(settings, config, scratch);
            var figures = new List<JournalFigure>();
            var writer = host.System.ActorOf(Props.Create(() => new Writer()));

            // Writing: one event per awaited command, and batches, alternating.
            var (oneByOne, batched) = (new List<double>(), new List<double>());
            var written = 0;
            for (var i = 0; i < repeats; i++)
            {
                (var ms, written) = await Write(writer, new SweepId($"{prefix}-one{i}"), singles, batch: 1);
                oneByOne.Add(ms);
                batched.Add((await Write(writer, new SweepId($"{prefix}-batch{i}"), singles, Batch)).Ms);
            }
            var one = Median(oneByOne);
            figures.Add(new("write", "persist one event per command, awaited (the coordinator's pattern)", written, one, null));
            figures.Add(new("write", $"persist batches of {Batch} (PersistAll)", written, Median(batched), Median(batched) / one));

            // Recovery: the same events with and without a snapshot of the folded state at the end.
            var sizes = new[] { Math.Min(10_000, events), events }.Distinct().ToList();
            say($"bench journal: writing about {2 * sizes.Sum():N0} events for recovery and queries ({settings.Journal.Provider} journal)...");
            var largest = 0;
            foreach (var size in sizes)
            {
                var (plain, snapshotted) = (new SweepId($"{prefix}-p{size}"), new SweepId($"{prefix}-s{size}"));
                await Write(writer, plain, size, Batch);
                var (ms, count) = await Write(writer, snapshotted, size, Batch);
                await writer.Ask<Done>(new Snapshot(snapshotted, Synthetic(snapshotted, size).Aggregate(SweepState.Empty(snapshotted), (s, e) => s.Apply(e))),
                    TimeSpan.FromMinutes(5));
                if (size == events)
                {
                    figures.Insert(2, new("write", $"persist batches of {Batch} (PersistAll)", count, ms, ms / count / (one / written)));
                    largest = count;
                }
                await Recover(host, plain);   // warm-up: the placement, the plugin's connections
                var (fromJournal, fromSnapshot) = (new List<double>(), new List<double>());
                for (var i = 0; i < repeats; i++)
                {
                    fromJournal.Add(await Recover(host, plain));
                    fromSnapshot.Add(await Recover(host, snapshotted));
                }
                figures.Add(new("recovery", "coordinator recovery, all events replayed", count, Median(fromJournal), null));
                figures.Add(new("recovery", "coordinator recovery from a snapshot of its state", count, Median(fromSnapshot), Median(fromSnapshot) / Median(fromJournal)));
            }

            // Queries over the largest sweep without a snapshot.
            var sweep = new SweepId($"{prefix}-p{events}");
            var read = PersistenceQuery.Get(host.System).ReadJournalFor<SqlReadJournal>(SqlReadJournal.Identifier);
            var mat = host.System.Materializer();
            // Queries that answer per run read all the sweep's events.
            int Checked(int runs) => runs == Runs ? largest : throw new InvalidOperationException($"the benchmark sweep has {runs} runs, not {Runs}");
            var queries = new List<(string Name, Func<Task<int>> Query)>
            {
                ("baseline: raw SQL read + deserialize of the same rows", () => RawRead(host, settings, sweep)),
                ("events of the sweep (runs events, the dashboard)", async () => (await host.History.Events(sweep)).Count),
                ("state of the sweep (events + fold: sweep status)", async () => Checked((await host.History.Load(sweep))!.Runs.Count)),
                ("sweep compare by init.scheme (events + run records)", async () => Checked(Comparison.Build(await host.History.Runs(sweep), ["init.scheme"]).Sum(c => c.Runs))),
                ("read journal stream of the same events (live queries)", () => read.CurrentEventsByPersistenceId("sweep-" + sweep, 0, long.MaxValue)
                    .RunAggregate(0, (n, _) => n + 1, mat)),
                ("spike events of all sweeps (by tag)", () => read.CurrentEventsByTag("spike", Offset.NoOffset()).RunAggregate(0, (n, _) => n + 1, mat)),
            };
            var times = queries.Select(_ => new List<double>()).ToList();
            var rows = new int[queries.Count];
            for (var i = 0; i < repeats; i++)
                for (var q = 0; q < queries.Count; q++)
                {
                    var sw = Stopwatch.StartNew();
                    rows[q] = await queries[q].Query();
                    times[q].Add(sw.Elapsed.TotalMilliseconds);
                }
            var baseline = Median(times[0]);
            for (var q = 0; q < queries.Count; q++)
                figures.Add(new("read", queries[q].Name, rows[q], Median(times[q]), q == 0 ? null : Median(times[q]) / baseline));
            return figures;
        }
        finally
        {
            if (settings.Journal.Provider == JournalProvider.PostgreSql) await Remove(settings.Journal.PostgreSql, $"sweep-{prefix}-%");
            SqliteConnection.ClearAllPools();
            NpgsqlConnection.ClearAllPools();
            Directory.Delete(scratch, recursive: true);
        }
    }

    static double Median(List<double> s) => s.Order().ElementAt(s.Count / 2);

    /// <summary>Milliseconds to persist about <paramref name="count"/> synthetic events of a new sweep, <paramref name="batch"/> per
    /// command, and how many there were.</summary>
    static async Task<(double Ms, int Count)> Write(IActorRef writer, SweepId sweep, int count, int batch)
    {
        var events = Synthetic(sweep, count);
        var sw = Stopwatch.StartNew();
        foreach (var chunk in events.Chunk(batch)) await writer.Ask<Done>(new Append(sweep, chunk), TimeSpan.FromMinutes(5));
        return (sw.Elapsed.TotalMilliseconds, events.Count);
    }

    static async Task<double> Recover(OrchestratorHost host, SweepId sweep)
    {
        IActorRef coordinator;
        // The name of the last one stopped is free only once the guardian has seen it go, a moment after GracefulStop.
        while (true)
        {
            try { coordinator = host.Coordinator(sweep); break; }
            catch (InvalidActorNameException) { await Task.Delay(10); }
        }
        var sw = Stopwatch.StartNew();
        var state = await coordinator.Ask<SweepState>(GetSweepState.Instance, TimeSpan.FromMinutes(5));
        var ms = sw.Elapsed.TotalMilliseconds;
        if (state.Runs.Count(r => r.Phase == RunPhase.Completed) != Runs)
            throw new InvalidOperationException($"the coordinator of {sweep} recovered {state.Runs.Count(r => r.Phase == RunPhase.Completed)} completed runs, not {Runs}");
        await coordinator.GracefulStop(TimeSpan.FromMinutes(1));
        return ms;
    }

    /// <summary>About <paramref name="total"/> events of one sweep of 100 runs (tiny preset, seeds 1..100): assignment,
    /// checkpoints, a spike and rollback every 50 checkpoints, completion.</summary>
    static List<ISweepEvent> Synthetic(SweepId sweep, int total)
    {
        var config = ConfigLoader.Canonical(ConfigLoader.Load(null, ["data.path=corpus.txt"]).Config);
        var specs = Enumerable.Range(1, Runs).Select(i => new RunSpec(new RunId($"r{i:D4}"), $"seed={i}", config.Replace("run.seed = \"1337\"", $"run.seed = \"{i}\""))).ToList();
        var list = new List<ISweepEvent> { new SweepStarted(sweep, "bench", specs, 3, new DateTime(2026, 1, 1, 0, 0, 0, DateTimeKind.Utc)) };
        var perRun = Math.Max(3, (total - list.Count) / Runs - 2);
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

    /// <summary>The baseline: the sweep's rows in one SQL query, each deserialized by the protocol serializer.</summary>
    static async Task<int> RawRead(OrchestratorHost host, OrchestratorSettings settings, SweepId sweep)
    {
        var serializer = new ProtocolSerializer((ExtendedActorSystem)host.System);
        await using DbConnection c = settings.Journal.Provider == JournalProvider.Sqlite
            ? new SqliteConnection($"Data Source={Path.Combine(host.Workdir, settings.Journal.SqliteFile)}")
            : new NpgsqlConnection(settings.Journal.PostgreSql);
        await c.OpenAsync();
        await using var cmd = c.CreateCommand();
        cmd.CommandText = "SELECT message, manifest FROM journal WHERE persistence_id = @id ORDER BY sequence_number";
        var id = cmd.CreateParameter();
        (id.ParameterName, id.Value) = ("@id", "sweep-" + sweep);
        cmd.Parameters.Add(id);
        await using var r = await cmd.ExecuteReaderAsync();
        var n = 0;
        while (await r.ReadAsync())
        {
            _ = serializer.FromBinary((byte[])r[0], r.GetString(1));
            n++;
        }
        return n;
    }

    /// <summary>Takes the benchmark's sweeps out of a PostgreSQL journal again (a SQLite one is a scratch file).</summary>
    static async Task Remove(string connection, string pattern)
    {
        await using var c = new NpgsqlConnection(connection);
        await c.OpenAsync();
        foreach (var table in new[] { "journal", "tags", "snapshot" })
        {
            await using var cmd = new NpgsqlCommand($"DELETE FROM {table} WHERE persistence_id LIKE @p", c);
            cmd.Parameters.AddWithValue("p", pattern);
            await cmd.ExecuteNonQueryAsync();
        }
    }

    sealed record Append(SweepId Sweep, ISweepEvent[] Events);
    sealed record Snapshot(SweepId Sweep, SweepState State);
    sealed record Done;

    /// <summary>Writes as the sweep's coordinator would, through a child per sweep (one persistence id each).</summary>
    sealed class Writer : ReceiveActor
    {
        public Writer()
        {
            Receive<Append>(a => Child(a.Sweep).Forward(a.Events));
            Receive<Snapshot>(s => Child(s.Sweep).Forward(s.State));
        }

        static IActorRef Child(SweepId sweep) =>
            Context.Child("sweep-" + sweep) is var c && !c.IsNobody() ? c : Context.ActorOf(Props.Create(() => new SweepWriter("sweep-" + sweep)), "sweep-" + sweep);
    }

    /// <summary>Persists each message as one atomic batch; saves a snapshot when sent a state.</summary>
    sealed class SweepWriter : ReceivePersistentActor
    {
        IActorRef? snapshotBy;

        public override string PersistenceId { get; }

        public SweepWriter(string id)
        {
            PersistenceId = id;
            Command<ISweepEvent[]>(batch =>
            {
                var replyTo = Sender;
                PersistAll(batch, e => { if (ReferenceEquals(e, batch[^1])) replyTo.Tell(new Done()); });
            });
            Command<SweepState>(state => { snapshotBy = Sender; SaveSnapshot(state); });
            Command<SaveSnapshotSuccess>(_ => snapshotBy?.Tell(new Done()));
            Command<SaveSnapshotFailure>(f => snapshotBy?.Tell(new Status.Failure(f.Cause)));
        }
    }
}
