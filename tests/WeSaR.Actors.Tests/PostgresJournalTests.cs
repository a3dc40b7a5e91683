using Akka.Actor;
using Akka.Persistence.Query;
using Akka.Persistence.Sql.Query;
using Akka.Streams;
using Akka.Streams.Dsl;
using WeSaR.Actors.Hosting;
using WeSaR.Actors.Sweeps;
using WeSaR.TestSupport;

namespace WeSaR.Actors.Tests;

/// <summary>The same orchestration on a real PostgreSQL server, the cluster journal.</summary>
public sealed class PostgresJournalTests : IDisposable
{
    readonly TempDir dir = TestEnv.NewTempDir();

    public void Dispose() => dir.Dispose();

    [PostgresFact]
    public async Task A_sweep_with_a_spike_runs_on_postgresql_and_its_events_are_tagged_for_queries()
    {
        // A fresh name per test run: the database outlives it.
        var name = "pg-" + Guid.NewGuid().ToString("N")[..8];
        var file = SweepHarness.Write(dir.Path, name, "faults { poison-batches = [30], poison-scale = 50 }");
        string[] pg = ["orchestrator.journal.provider=postgresql", $"orchestrator.journal.postgresql={PostgresFactAttribute.ConnectionString}"];
        var (state, events) = await SweepHarness.Run(Path.Combine(dir.Path, "work"), file, pg);

        Assert.Equal(RunPhase.Completed, state.Runs.Single().Phase);
        Assert.Equal((31L, 20L), events.OfType<RolledBack>().Select(r => (r.FromStep, r.ToStep)).Single());
        Assert.False(File.Exists(Path.Combine(dir.Path, "work", "journal.db")));

        var (settings, config) = SweepHarness.Config(pg);
        await using var host = OrchestratorHost.Start(settings, config, Path.Combine(dir.Path, "work"));
        var journal = PersistenceQuery.Get(host.System).ReadJournalFor<SqlReadJournal>(SqlReadJournal.Identifier);
        var run = state.Runs.Single().Id;
        var tagged = await journal.CurrentEventsByTag($"run:{state.Id}/{run}", Offset.NoOffset())
            .RunAggregate(0, (n, _) => n + 1, host.System.Materializer());
        Assert.Equal(events.OfType<IRunEvent>().Count(), tagged);
        var spikes = await journal.CurrentEventsByTag("spike", Offset.NoOffset())
            .Where(e => ((ISweepEvent)e.Event).Sweep == state.Id).RunAggregate(0, (n, _) => n + 1, host.System.Materializer());
        Assert.Equal(1, spikes);
        Assert.Contains(state.Id, (await host.History.All()).Select(s => s.Id));
        var record = Assert.Single(await host.History.Runs(state.Id));
        Assert.Equal((RunPhase.Completed, 1, 1, state.Runs.Single().Result!.ValLoss), (record.State, record.Spikes, record.Rollbacks, record.ValLoss));
    }
}
