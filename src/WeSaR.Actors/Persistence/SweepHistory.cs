using Akka.Actor;
using Akka.Persistence.Query;
using Akka.Persistence.Sql.Query;
using Akka.Streams;
using Akka.Streams.Dsl;
using WeSaR.Actors.Queries;
using WeSaR.Actors.Sweeps;

namespace WeSaR.Actors.Persistence;

/// <summary>A sweep as one read of the journal gives it (<see cref="SweepHistory.Read"/>).</summary>
public sealed record SweepRead(SweepState State, IReadOnlyList<JournalEvent> Events, IReadOnlyList<RunRecord> Runs);

/// <summary>An event as the journal holds it: its global offset and the time it was written.</summary>
public sealed record JournalEvent(long Offset, long SequenceNr, DateTime AtUtc, ISweepEvent Event)
{
    /// <summary>The SQL journal stores the write time as UTC ticks.</summary>
    public static DateTime Written(long ticks) => new(Math.Clamp(ticks, DateTime.MinValue.Ticks, DateTime.MaxValue.Ticks), DateTimeKind.Utc);
}

/// <summary>
/// The read side: sweeps and runs rebuilt from the journal by the same fold the coordinator uses, without starting
/// anything; works on SQLite and PostgreSQL alike. One sweep's events are read from the journal table
/// (<see cref="JournalTable"/>); the sweep list and the live queries go through Akka.Persistence.Query.
/// </summary>
public sealed class SweepHistory
{
    readonly SqlReadJournal journal;
    readonly JournalTable table;
    readonly IMaterializer materializer;
    readonly string sharedDir;

    /// <param name="startTimeout">
    /// How long the write journal may take to start. The read journal waits for it only 5 s (fixed in
    /// Akka.Persistence.Sql), which a busy machine exceeds, so a timed-out start is tried again up to this long.
    /// </param>
    /// <param name="sharedDir">Where run folders are: unfinished runs' progress comes from their metrics files.</param>
    public SweepHistory(ActorSystem system, TimeSpan startTimeout, string sharedDir)
    {
        this.sharedDir = sharedDir;
        var deadline = DateTime.UtcNow + startTimeout;
        while (true)
        {
            try
            {
                journal = PersistenceQuery.Get(system).ReadJournalFor<SqlReadJournal>(SqlReadJournal.Identifier);
                break;
            }
            catch (Exception e) when (TimedOut(e) && DateTime.UtcNow < deadline) { }
        }
        materializer = system.Materializer();
        table = new JournalTable(system);
    }

    // The plugin is made by reflection and waits with Task.Result: the timeout arrives wrapped.
    static bool TimedOut(Exception? e) => e is AskTimeoutException || (e is not null && TimedOut(e.InnerException));

    public async Task<SweepState?> Load(SweepId id)
    {
        var state = (await Events(id)).Aggregate(SweepState.Empty(id), (s, e) => s.Apply(e.Event));
        return state.Phase == SweepPhase.New ? null : state;
    }

    /// <summary>Every event of the sweep, in journal order.</summary>
    public Task<List<JournalEvent>> Events(SweepId id) => Retried(() => table.Events(PersistenceId(id)));

    public async Task<IReadOnlyList<SweepId>> SweepIds()
    {
        var ids = await Retried(() => journal.CurrentPersistenceIds().Where(p => p.StartsWith("sweep-", StringComparison.Ordinal))
            .RunAggregate(new List<string>(), (list, p) => { list.Add(p); return list; }, materializer));
        return ids.Order(StringComparer.Ordinal).Select(p => new SweepId(p["sweep-".Length..])).ToList();
    }

    // A read of a SQLite journal that a sweep is writing can meet the writer mid-transaction; a moment later it reads.
    static async Task<T> Retried<T>(Func<Task<T>> read)
    {
        for (var attempt = 1; ; attempt++)
        {
            try { return await read(); }
            catch (Exception e) when (attempt < 5 && JournalAccess.IsSqliteContention(e)) { await Task.Delay(100 * attempt); }
        }
    }

    public async Task<IReadOnlyList<SweepState>> All()
    {
        var sweeps = new List<SweepState>();
        foreach (var id in await SweepIds())
            if (await Load(id) is { } s) sweeps.Add(s);
        return sweeps;
    }

    /// <summary>One sweep from one read of its events: its state, the events and its run records; null if the journal has none.</summary>
    public async Task<SweepRead?> Read(SweepId id)
    {
        var events = await Events(id);
        var state = events.Aggregate(SweepState.Empty(id), (s, e) => s.Apply(e.Event));
        return state.Phase == SweepPhase.New ? null : new SweepRead(state, events, RunProjection.Project(id, events, sharedDir));
    }

    /// <summary>Run summaries of one sweep, or of every sweep in the journal.</summary>
    public async Task<IReadOnlyList<RunRecord>> Runs(SweepId? sweep = null)
    {
        var records = new List<RunRecord>();
        foreach (var id in sweep is { } one ? [one] : await SweepIds())
            records.AddRange(RunProjection.Project(id, await Events(id), sharedDir));
        return records;
    }

    /// <summary>
    /// The sweep's events as they are written (after those already there), until <paramref name="until"/> says
    /// stop or <paramref name="ct"/> is cancelled.
    /// </summary>
    public async Task Follow(SweepId id, Action<JournalEvent> onEvent, Func<JournalEvent, bool> until, CancellationToken ct)
    {
        var (kill, done) = journal.EventsByPersistenceId(PersistenceId(id), 0, long.MaxValue)
            .Select(Wrap)
            .TakeWhile(e => { onEvent(e); return !until(e); })
            .ViaMaterialized(KillSwitches.Single<JournalEvent>(), Keep.Right)
            .ToMaterialized(Sink.Ignore<JournalEvent>(), Keep.Both)
            .Run(materializer);
        await using var _ = ct.Register(kill.Shutdown);
        await done;
    }

    /// <summary>
    /// Every sweep's events written after the journal offset <paramref name="after"/>, as they are written (by this
    /// process or another on the same journal), until <paramref name="ct"/> is cancelled. A live query over the tag
    /// every sweep event has: it sees sweeps that start after it does.
    /// </summary>
    public async Task FollowAll(long after, Func<JournalEvent, Task> onEvent, CancellationToken ct)
    {
        var (kill, done) = journal.EventsByTag("sweep", Offset.Sequence(after))
            .Select(Wrap)
            .SelectAsync(1, async e => { await onEvent(e); return e; })
            .ViaMaterialized(KillSwitches.Single<JournalEvent>(), Keep.Right)
            .ToMaterialized(Sink.Ignore<JournalEvent>(), Keep.Both)
            .Run(materializer);
        await using var _ = ct.Register(kill.Shutdown);
        await done;
    }

    static string PersistenceId(SweepId id) => "sweep-" + id;

    static JournalEvent Wrap(EventEnvelope e) => new(e.Offset is Sequence s ? s.Value : 0, e.SequenceNr, JournalEvent.Written(e.Timestamp), (ISweepEvent)e.Event);
}
