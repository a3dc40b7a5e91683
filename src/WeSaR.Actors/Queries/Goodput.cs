using System.Text.Json.Serialization;
using WeSaR.Actors.Persistence;
using WeSaR.Actors.Sweeps;
using WeSaR.Training.Loop;

namespace WeSaR.Actors.Queries;

/// <summary>
/// Where a run's time went, in seconds; the parts add up to <c>TotalSeconds</c>. <c>Useful</c>: training that
/// survives in the final history. <c>Redone</c>: training thrown away by rollbacks, crashes and process deaths, which
/// the run did again (<c>RedoneSteps</c>: the steps the journal saw it pass, then lose). <c>Checkpoint</c>: the time of a
/// stretch ending in a commit beyond its steps' own time. <c>Recovery</c>: from a crash, or a dead process's last
/// record, until the restarted trainer steps again. <c>Startup</c>: a run's first start until its first steps.
/// <c>Waiting</c>: not on a slot (queued, or failed until retried).
/// </summary>
public sealed record GoodputFigures(double TotalSeconds, double UsefulSeconds, double RedoneSeconds, long RedoneSteps, double CheckpointSeconds,
    double RecoverySeconds, double StartupSeconds, double WaitingSeconds)
{
    /// <summary>The effective-training-time ratio: useful / total.</summary>
    public double? Ratio => TotalSeconds > 0 ? UsefulSeconds / TotalSeconds : null;

    public static GoodputFigures Sum(IEnumerable<GoodputFigures> parts) => parts.Aggregate(new GoodputFigures(0, 0, 0, 0, 0, 0, 0, 0), (a, b) => new(
        a.TotalSeconds + b.TotalSeconds, a.UsefulSeconds + b.UsefulSeconds, a.RedoneSeconds + b.RedoneSeconds, a.RedoneSteps + b.RedoneSteps,
        a.CheckpointSeconds + b.CheckpointSeconds, a.RecoverySeconds + b.RecoverySeconds, a.StartupSeconds + b.StartupSeconds, a.WaitingSeconds + b.WaitingSeconds));
}

/// <summary>One run's goodput; <c>Resumes</c> counts its starts in a new process or on a new node (no crash recorded).</summary>
public sealed record RunGoodput(string Run, string Label, [property: JsonConverter(typeof(RunPhaseJson))] RunPhase State, int Rollbacks, int Restarts,
    int Resumes, GoodputFigures Figures);

/// <summary>A sweep's goodput: its wall time (first to last event) and the runs' figures, summed over runs in <c>AllRuns</c>.</summary>
public sealed record SweepGoodput(string Sweep, string Name, double WallSeconds, GoodputFigures AllRuns, IReadOnlyList<RunGoodput> Runs);

/// <summary>
/// `sweep goodput`: each run's time from the sweep's start to its end, split by the journal's write times. A run's
/// events mark points of its history (a commit, a spike, a rollback at a step); a rollback to step T throws away
/// everything since the run was last at T, a crash (or a process that died: the next assignment comes without one)
/// everything since its last commit. The split of a stretch between its steps and the rest (a restart's recovery, a
/// checkpoint write) takes the steps' time from metrics.jsonl (tokens_per_s there times only the optimizer step);
/// without a metrics file the whole stretch counts as steps. Pure: events and metrics in, figures out.
/// </summary>
public static class Goodput
{
    /// <param name="metrics">Each run's metrics.jsonl lines (a run without any may be left out).</param>
    public static SweepGoodput Of(SweepId sweep, IReadOnlyList<JournalEvent> events, IReadOnlyDictionary<RunId, IReadOnlyList<MetricsLine>> metrics)
    {
        if (events.Count == 0) return new SweepGoodput(sweep.Value, "", 0, GoodputFigures.Sum([]), []);
        var state = events.Aggregate(SweepState.Empty(sweep), (s, e) => s.Apply(e.Event));
        var (first, last) = (events[0].AtUtc, events[^1].AtUtc);
        var runs = state.Runs.Select(r =>
        {
            var ledger = new Ledger(first, new StepClock(metrics.GetValueOrDefault(r.Id) ?? []));
            foreach (var e in events.Where(e => e.Event is IRunEvent re && re.Run == r.Id)) ledger.Apply(e.Event, e.AtUtc);
            return new RunGoodput(r.Id.Value, r.Spec.Label, r.Phase, ledger.Rollbacks, ledger.Restarts, ledger.Resumes, ledger.Close(last));
        }).ToList();
        return new SweepGoodput(sweep.Value, state.Name, (last - first).TotalSeconds, GoodputFigures.Sum(runs.Select(r => r.Figures)), runs);
    }

    /// <summary><see cref="Of"/> with each run's metrics read from its folder under <paramref name="sharedDir"/>.</summary>
    public static SweepGoodput Read(SweepState state, IReadOnlyList<JournalEvent> events, string sharedDir) =>
        Of(state.Id, events, state.Runs.ToDictionary(r => r.Id, r => Metrics(Path.Combine(r.Spec.Dir(sharedDir, state.Id), MetricsLog.FileName))));

    // A folder we may not read, or a line half-written as we read: the journal's timestamps alone.
    static IReadOnlyList<MetricsLine> Metrics(string file)
    {
        try { return File.Exists(file) ? MetricsLog.Read(file) : []; }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or System.Text.Json.JsonException) { return []; }
    }

    /// <summary>A stretch of the run's live history: from <c>From</c> to <c>To</c>, when it was at <c>Step</c>; <c>Stall</c> of it was a checkpoint write.</summary>
    readonly record struct Stretch(DateTime From, DateTime To, long Step, double Stall)
    {
        public double Seconds => (To - From).TotalSeconds;
    }

    enum Mode { Waiting, Starting, Training }

    /// <summary>
    /// A fold over one run's events. Every second from the sweep's start to the cursor is in exactly one place: a
    /// bucket, or a stretch of the live history (useful, or a checkpoint's stall), which a rollback or a crash moves to
    /// redone.
    /// </summary>
    sealed class Ledger(DateTime start, StepClock clock)
    {
        readonly List<Stretch> live = [];
        readonly DateTime origin = start;
        DateTime cursor = start;
        Mode mode = Mode.Waiting;
        bool everStarted, ended, firstStart;
        long resume, step;
        double waiting, startup, recovery, redone;
        long redoneSteps;

        public int Rollbacks { get; private set; }
        public int Restarts { get; private set; }
        public int Resumes { get; private set; }

        public void Apply(ISweepEvent e, DateTime at)
        {
            if (ended && e is not RunRetried) return;   // the coordinator records nothing for an ended run but a retry
            switch (e)
            {
                case RunAssigned:
                    // On a slot already, with no crash recorded: the process (or node) died; its work since the last commit is lost.
                    if (mode == Mode.Waiting) waiting += Gap(at);
                    else
                    {
                        if (mode == Mode.Starting) Starting(Gap(at)); else recovery += Gap(at);
                        Resumes++;
                    }
                    Discard(resume, at);
                    firstStart = !everStarted;
                    (everStarted, mode) = (true, Mode.Starting);
                    break;
                case RunRestarted:
                    Restarts++;
                    Lost(at);
                    (mode, firstStart) = (Mode.Starting, false);
                    break;
                case CheckpointRejected x:
                    resume = x.ResumeStep;
                    Discard(resume, at);
                    break;
                case CheckpointCommitted c:
                    Progress(c.Step, at, commit: true);
                    resume = c.Step;
                    break;
                case SpikeDetected s:
                    Progress(s.Step, at, commit: false);
                    break;
                case RolledBack b:
                    Progress(b.FromStep, at, commit: false);
                    Rollbacks++;
                    Discard(b.ToStep, at);
                    resume = b.ToStep;
                    break;
                case RunCompleted c:
                    Progress(c.Metrics.Step, at, commit: false);
                    End(at);
                    break;
                case RunFailed f:
                    // The spike policy gave up at the step it reached; a crash with no restart left loses the work since the commit.
                    if (mode == Mode.Training && f.Step >= step) Progress(f.Step, at, commit: false);
                    else Lost(at);
                    End(at);
                    break;
                case RunRetried:
                    ended = false;   // waiting until it is placed again; that placement drops what it did past its commit
                    break;
            }
        }

        /// <summary>The figures at <paramref name="now"/> (the sweep's last event), which an ended run's end precedes.</summary>
        public GoodputFigures Close(DateTime now)
        {
            if (!ended)
                switch (mode)
                {
                    case Mode.Waiting: waiting += Gap(now); break;
                    case Mode.Starting: Starting(Gap(now)); break;
                    default: Add(cursor, now, step, 0); cursor = now; break;
                }
            var stall = live.Sum(s => s.Stall);
            return new GoodputFigures((cursor - origin).TotalSeconds, live.Sum(s => s.Seconds) - stall, redone, redoneSteps, stall, recovery, startup, waiting);
        }

        double Gap(DateTime to)
        {
            var gap = (to - cursor).TotalSeconds;
            cursor = to;
            return gap;
        }

        void Starting(double seconds)
        {
            if (firstStart) startup += seconds;
            else recovery += seconds;
        }

        // A crash: the work since the last commit (and a start that never stepped) is lost.
        void Lost(DateTime at)
        {
            if (mode == Mode.Starting) Starting(Gap(at));
            else redone += Gap(at);
            Discard(resume, at);
        }

        void End(DateTime at)
        {
            (ended, mode, cursor) = (true, Mode.Waiting, at);
        }

        void Progress(long to, DateTime at, bool commit)
        {
            var seconds = (at - cursor).TotalSeconds;
            if (mode == Mode.Starting)
            {
                // A (re)start: the time beyond its steps' own is the start; the run is back at its resume step after it.
                var overhead = seconds - Math.Min(seconds, clock.Seconds(resume, to) ?? seconds);
                Starting(overhead);
                firstStart = false;
                var back = cursor + TimeSpan.FromSeconds(overhead);
                Add(back, back, resume, 0);
                Add(back, at, to, 0);
            }
            else Add(cursor, at, to, commit ? seconds - Math.Min(seconds, clock.Seconds(step, to) ?? seconds) : 0);
            (cursor, mode, step) = (at, Mode.Training, to);
        }

        void Add(DateTime from, DateTime to, long at, double stall) => live.Add(new Stretch(from, to, at, stall));

        // Back to step `to`: the live history since the run was last there is redone; it is at `to` again from `at`.
        void Discard(long to, DateTime at)
        {
            var keep = live.FindLastIndex(s => s.Step <= to) + 1;
            redone += live.Skip(keep).Sum(s => s.Seconds);
            live.RemoveRange(keep, live.Count - keep);
            if (step > to) redoneSteps += step - to;
            step = Math.Min(step, to);
            if (everStarted) Add(at, at, to, 0);
        }
    }

    /// <summary>
    /// The optimizer steps' own seconds from metrics.jsonl: a line's tokens_per_s covers the steps since the line
    /// before it, each of tokens/step tokens; steps past the last line take the mean. Null without a usable line.
    /// </summary>
    sealed class StepClock
    {
        readonly long[] steps;
        readonly double[] cumulative, perStep;
        readonly double mean;

        public StepClock(IReadOnlyList<MetricsLine> lines)
        {
            var usable = lines.Where(l => l.Step > 0 && l.TokensPerS > 0 && l.Tokens > 0).OrderBy(l => l.Step).ToList();
            steps = [.. usable.Select(l => l.Step)];
            perStep = [.. usable.Select(l => (double)l.Tokens / l.Step / l.TokensPerS)];
            cumulative = new double[steps.Length];
            for (var i = 0; i < steps.Length; i++)
                cumulative[i] = (i > 0 ? cumulative[i - 1] : 0) + (steps[i] - (i > 0 ? steps[i - 1] : 0)) * perStep[i];
            mean = steps.Length > 0 ? cumulative[^1] / steps[^1] : 0;
        }

        /// <summary>Seconds of steps <paramref name="from"/>+1 through <paramref name="to"/>.</summary>
        public double? Seconds(long from, long to) => steps.Length == 0 ? null : Math.Max(0, Through(to) - Through(from));

        double Through(long step)
        {
            if (step <= 0) return 0;
            var i = Array.BinarySearch(steps, step);
            if (i >= 0) return cumulative[i];
            i = ~i;   // the first line past the step covers it
            return i == steps.Length
                ? cumulative[^1] + (step - steps[^1]) * mean
                : (i > 0 ? cumulative[i - 1] : 0) + (step - (i > 0 ? steps[i - 1] : 0)) * perStep[i];
        }
    }
}
