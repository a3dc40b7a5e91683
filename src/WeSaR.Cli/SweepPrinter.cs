using Akka.Actor;
using WeSaR.Actors;
using WeSaR.Actors.Hosting;
using WeSaR.Actors.Runs;
using WeSaR.Actors.Sweeps;

namespace WeSaR.Cli;

/// <summary>
/// Live sweep progress, one line per run ("run k/N", step, loss, validation loss, tokens/s, ETA, spikes,
/// rollbacks, state) and the sweep's own ETA. On a terminal the lines are redrawn in place twice a second with notes
/// scrolling above them and the sweep line below; when output is redirected, each run gets a line about every tenth
/// of its steps and on every change of state, followed by the sweep line.
/// </summary>
public sealed class SweepPrinter : ReceiveActor, IWithTimers
{
    sealed class Row(string label, int index, long total)
    {
        public readonly string Label = label;
        public readonly int Index = index;
        public long Step, Total = total;
        public double? Loss, ValLoss, TokensPerS;
        public TimeSpan? Eta;
        public double? Pace;   // seconds per step, kept once the run ends
        public RunStatus? Status;
        public long Printed = -1;
    }

    readonly bool live = !Console.IsOutputRedirected;
    readonly Dictionary<RunId, Row> rows;
    readonly List<string> notes = [];
    readonly int slots;
    int drawn;

    public ITimerScheduler Timers { get; set; } = null!;

    /// <param name="slots">Training slots the runs share (for the sweep's ETA).</param>
    public static Props Props(SweepState initial, int slots) => Akka.Actor.Props.Create(() => new SweepPrinter(initial, slots));

    public SweepPrinter(SweepState initial, int slots)
    {
        this.slots = slots;
        rows = initial.Runs.Select((r, i) => (r, i)).ToDictionary(x => x.r.Id,
            x => new Row(x.r.Spec.Label, x.i + 1, x.r.Spec.Settings([]).Train.Steps) { Status = x.r, Step = x.r.Result?.Step ?? x.r.Resume.Step });
        Receive<RunProgress>(p =>
        {
            if (!rows.TryGetValue(p.Run, out var row)) return;
            (row.Step, row.Total, row.Loss, row.TokensPerS, row.Eta) = (p.Line.Step, p.TotalSteps, p.Line.Loss, p.Line.TokensPerS, p.Eta);
            if (p.TotalSteps > p.Line.Step) row.Pace = p.Eta.TotalSeconds / (p.TotalSteps - p.Line.Step);
            row.ValLoss = p.Line.ValLoss ?? row.ValLoss;
            if (!live && TenthDue(row.Printed < 0 ? null : row.Printed, p.Line.Step, p.TotalSteps))
            {
                row.Printed = p.Line.Step;
                Console.WriteLine(Line(row) + (SweepRemaining() is { } e ? $" | sweep ETA ~{Tables.Duration(e.TotalSeconds)}" : ""));
            }
        });
        Receive<RunNote>(n => Note(rows.TryGetValue(n.Run, out var r) ? $"[{r.Label}] {Wording.Of(n.Note)}" : Wording.Of(n.Note)));
        Receive<RunChanged>(c =>
        {
            if (!rows.TryGetValue(c.Run.Id, out var row)) return;
            var before = row.Status;
            row.Status = c.Run;
            if (c.Run.Ended) row.Eta = null;
            if (before?.Phase != c.Run.Phase || before.Restarts != c.Run.Restarts)
            {
                Note(Line(row) + (c.Run.Failure is { } f ? $" ({f})" : ""));
                if (!live) Console.WriteLine(SweepLine());
            }
        });
        Receive<Redraw>(_ => Draw());
    }

    protected override void PreStart()
    {
        if (live) Timers.StartPeriodicTimer("redraw", Redraw.Instance, TimeSpan.FromMilliseconds(500));
        foreach (var t in new[] { typeof(RunProgress), typeof(RunNote), typeof(RunChanged) }) Context.System.EventStream.Subscribe(Self, t);
    }

    protected override void PostStop()
    {
        Draw();
        Context.System.EventStream.Unsubscribe(Self);
    }

    void Note(string text)
    {
        if (live) notes.Add(text);
        else Console.WriteLine(text);
    }

    void Draw()
    {
        if (!live) return;
        var w = Console.WindowWidth > 1 ? Console.WindowWidth - 1 : int.MaxValue;   // a line that wraps would break the redraw
        if (drawn > 0) Console.Write($"\x1b[{drawn}A");
        foreach (var n in notes) Console.Write("\x1b[2K" + n + "\n");
        notes.Clear();
        foreach (var row in rows.Values) Console.Write("\x1b[2K" + Truncate(Line(row), w) + "\n");
        Console.Write("\x1b[2K" + Truncate(SweepLine(), w) + "\n");
        drawn = rows.Count + 1;
    }

    /// <summary>Whether a progress line is due: the first, then about every tenth of the steps, and the last.</summary>
    public static bool TenthDue(long? lastPrinted, long step, long total) =>
        lastPrinted is not { } last || step - last >= Math.Max(1, total / 10) || step == total;

    static string Truncate(string s, int w) => s.Length <= w ? s : s[..w];

    string Line(Row r)
    {
        var s = r.Status;
        var state = s?.Phase.ToString().ToLowerInvariant() ?? "pending";
        var loss = r.Loss is { } l ? $"loss {l,7:F4}" : "loss    -   ";
        var val = r.ValLoss is { } v ? $" val {v:F4}" : "";
        var speed = r.TokensPerS is { } t && !(s?.Ended ?? false) ? $" | {t,7:N0} tok/s ETA {Tables.Duration(r.Eta?.TotalSeconds)}" : "";
        var k = $"run {r.Index}/{rows.Count}";
        return $"{k,-9} {r.Label,-32} step {r.Step,6}/{r.Total,-6} {loss}{val}{speed} | spikes {s?.Spikes ?? 0} rollbacks {s?.Rollbacks ?? 0} restarts {s?.Restarts ?? 0} | {state}";
    }

    TimeSpan? SweepRemaining() =>
        SweepEta.Of([.. rows.Values.Where(r => !(r.Status?.Ended ?? false)).Select(r => new SweepEta.RunLeft(r.Total - r.Step, r.Eta))],
            [.. rows.Values.Where(r => r.Pace is not null).Select(r => r.Pace!.Value)], slots);

    /// <summary>"sweep: 2 of 6 runs ended, 2 running · ETA ~5m30s".</summary>
    string SweepLine()
    {
        var ended = rows.Values.Count(r => r.Status?.Ended ?? false);
        var running = rows.Values.Count(r => r.Status?.Phase == RunPhase.Running);
        var eta = SweepRemaining();
        return $"sweep: {ended} of {rows.Count} run(s) ended, {running} running"
               + (ended == rows.Count ? "" : $" · ETA {(eta is { } e ? "~" + Tables.Duration(e.TotalSeconds) : "after the first steps")}");
    }

    sealed record Redraw
    {
        public static readonly Redraw Instance = new();
    }
}

/// <summary>The sweep's screen on this console: data lines and warnings, the start line, then the <see cref="SweepPrinter"/>.</summary>
public sealed class SweepScreen(IReadOnlyList<SlotSpec> slots, string workdir) : ISweepScreen
{
    IActorRef printer = ActorRefs.Nobody;

    public void Say(string line) => Console.WriteLine(line);

    public void Warn(string line) => Console.Error.WriteLine("warning: " + line);

    public void Starting(ActorSystem system, SweepState initial, SweepState? known)
    {
        Console.WriteLine(known is null
            ? $"sweep {initial.Id}: {initial.Runs.Count} run(s) on {slots.Count} slot(s) ({string.Join(", ", slots.Select(s => s.Name))}); journal in {workdir}"
            : $"sweep {initial.Id}: {known.Runs.Count(r => r.Ended)} of {known.Runs.Count} run(s) already ended; continuing the rest");
        printer = system.ActorOf(SweepPrinter.Props(initial, slots.Count), "printer");
    }

    // Its last drawing comes before the summary.
    public async Task Finishing()
    {
        if (!printer.IsNobody()) await printer.GracefulStop(TimeSpan.FromSeconds(5));
    }
}
