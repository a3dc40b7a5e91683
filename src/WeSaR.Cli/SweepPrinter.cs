using Akka.Actor;
using WeSaR.Actors.Runs;
using WeSaR.Actors.Sweeps;

namespace WeSaR.Cli;

/// <summary>
/// Live sweep progress, one line per run (step, loss, spikes, rollbacks, state). On a terminal the lines are
/// redrawn in place twice a second with notes scrolling above them; when output is redirected, each run gets a
/// line about every tenth of its steps and on every change of state.
/// </summary>
public sealed class SweepPrinter : ReceiveActor, IWithTimers
{
    sealed class Row(string label)
    {
        public string Label = label;
        public long Step, Total;
        public double? Loss, ValLoss;
        public RunStatus? Status;
        public long Printed = -1;
    }

    readonly bool live = !Console.IsOutputRedirected;
    readonly Dictionary<RunId, Row> rows;
    readonly List<string> notes = [];
    int drawn;

    public ITimerScheduler Timers { get; set; } = null!;

    public static Props Props(SweepState initial) => Akka.Actor.Props.Create(() => new SweepPrinter(initial));

    public SweepPrinter(SweepState initial)
    {
        rows = initial.Runs.ToDictionary(r => r.Id, r => new Row(r.Spec.Label) { Status = r, Step = r.Resume.Step });
        Receive<RunProgress>(p =>
        {
            if (!rows.TryGetValue(p.Run, out var row)) return;
            (row.Step, row.Total, row.Loss) = (p.Line.Step, p.TotalSteps, p.Line.Loss);
            row.ValLoss = p.Line.ValLoss ?? row.ValLoss;
            if (!live && TenthDue(row.Printed < 0 ? null : row.Printed, p.Line.Step, p.TotalSteps))
            {
                row.Printed = p.Line.Step;
                Console.WriteLine(Line(row));
            }
        });
        Receive<RunNote>(n => Note(rows.TryGetValue(n.Run, out var r) ? $"[{r.Label}] {n.Text}" : n.Text));
        Receive<RunChanged>(c =>
        {
            if (!rows.TryGetValue(c.Run.Id, out var row)) return;
            var before = row.Status;
            row.Status = c.Run;
            if (before?.Phase != c.Run.Phase || before.Restarts != c.Run.Restarts)
                Note(Line(row) + (c.Run.Failure is { } f ? $" ({f})" : ""));
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
        drawn = rows.Count;
    }

    /// <summary>Whether a progress line is due: the first, then about every tenth of the steps, and the last.</summary>
    public static bool TenthDue(long? lastPrinted, long step, long total) =>
        lastPrinted is not { } last || step - last >= Math.Max(1, total / 10) || step == total;

    static string Truncate(string s, int w) => s.Length <= w ? s : s[..w];

    static string Line(Row r)
    {
        var s = r.Status;
        var state = s?.Phase.ToString().ToLowerInvariant() ?? "pending";
        var loss = r.Loss is { } l ? $"loss {l,7:F4}" : "loss    -   ";
        var val = r.ValLoss is { } v ? $" val {v:F4}" : "";
        return $"{r.Label,-32} step {r.Step,6}/{(r.Total > 0 ? r.Total.ToString() : "?"),-6} {loss}{val} | spikes {s?.Spikes ?? 0} rollbacks {s?.Rollbacks ?? 0} restarts {s?.Restarts ?? 0} | {state}";
    }

    sealed record Redraw
    {
        public static readonly Redraw Instance = new();
    }
}
