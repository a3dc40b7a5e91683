using Akka.Actor;
using Akka.Persistence.Query;
using Akka.Persistence.Sql.Query;
using Akka.Streams;
using Akka.Streams.Dsl;
using WeSaR.Actors.Sweeps;

namespace WeSaR.Actors.Persistence;

/// <summary>The read side: sweeps rebuilt from the journal by the same fold the coordinator uses, without starting any run.</summary>
public sealed class SweepHistory(ActorSystem system)
{
    readonly SqlReadJournal journal = PersistenceQuery.Get(system).ReadJournalFor<SqlReadJournal>(SqlReadJournal.Identifier);
    readonly IMaterializer materializer = system.Materializer();

    public async Task<SweepState?> Load(SweepId id)
    {
        var state = (await Events(id)).Aggregate(SweepState.Empty(id), (s, e) => s.Apply(e));
        return state.Phase == SweepPhase.New ? null : state;
    }

    /// <summary>Every event of the sweep, in journal order.</summary>
    public Task<List<ISweepEvent>> Events(SweepId id) =>
        journal.CurrentEventsByPersistenceId("sweep-" + id, 0, long.MaxValue)
            .RunAggregate(new List<ISweepEvent>(), (list, e) => { list.Add((ISweepEvent)e.Event); return list; }, materializer);

    public async Task<IReadOnlyList<SweepState>> All()
    {
        var ids = await journal.CurrentPersistenceIds().Where(p => p.StartsWith("sweep-", StringComparison.Ordinal))
            .RunAggregate(new List<string>(), (list, p) => { list.Add(p); return list; }, materializer);
        var sweeps = new List<SweepState>();
        foreach (var p in ids.Order(StringComparer.Ordinal))
            if (await Load(new SweepId(p["sweep-".Length..])) is { } s) sweeps.Add(s);
        return sweeps;
    }
}
