using Akka.Actor;
using Prometheus;
using WeSaR.Actors.Placement;
using WeSaR.Actors.Runs;
using WeSaR.Actors.Sweeps;
using WeSaR.Training.Loop;
using WeSaR.Training.Spikes;

namespace WeSaR.Actors.Hosting;

/// <summary>
/// The Prometheus view of one process (orchestrator.metrics): collectors fed from its event stream, served at
/// http://hostname:port/metrics. Trainer-side figures (steps, tokens, spikes, rollbacks) count what this process's
/// slots did; coordinator-side ones (restarts, runs per state, journal writes) what the sweeps it coordinates
/// persisted, so a cluster sums them without counting anything twice.
/// </summary>
public sealed class MetricsExporter : IDisposable
{
    readonly MetricServer server;

    MetricsExporter(MetricServer server) => this.server = server;

    /// <summary>Starts serving; the endpoint lives until <see cref="Dispose"/>.</summary>
    public static MetricsExporter Start(ActorSystem system, MetricsSettings settings)
    {
        var registry = Metrics.NewCustomRegistry();
        var collectors = new Collectors(Metrics.WithCustomRegistry(registry));
        var server = new MetricServer(settings.Hostname, settings.Port, "metrics/", registry);
        try { server.Start(); }
        catch (System.Net.HttpListenerException e)
        {
            throw new MetricsUnavailableException($"orchestrator.metrics: cannot serve http://{settings.Hostname}:{settings.Port}/metrics ({e.Message})", e);
        }
        var feed = system.ActorOf(Props.Create(() => new Feed(collectors)), "metrics");
        // Subscribed here, not in the actor's start, so nothing published after Start returns is missed.
        foreach (var t in new[] { typeof(RunStarted), typeof(RunProgress), typeof(RunNote), typeof(RunChanged), typeof(SlotUse), typeof(JournalWritten) })
            system.EventStream.Subscribe(feed, t);
        return new MetricsExporter(server);
    }

    public void Dispose() => server.Stop();

    /// <summary>Every collector, created once per process in its own registry (names as in docs/metrics.md).</summary>
    public sealed class Collectors(IMetricFactory f)
    {
        static readonly string[] RunLabels = ["sweep", "run"];
        public readonly Counter Steps = f.CreateCounter("wesar_steps_total", "Training steps done by this process's slots, redone steps included", RunLabels);
        public readonly Counter Tokens = f.CreateCounter("wesar_tokens_total", "Tokens trained on by this process's slots", RunLabels);
        public readonly Gauge TokensPerSecond = f.CreateGauge("wesar_tokens_per_second", "Tokens/s of a run at its last logged step", RunLabels);
        public readonly Gauge StepsPerSecond = f.CreateGauge("wesar_steps_per_second", "Steps/s of a run between its last two logged steps", RunLabels);
        public readonly Counter Spikes = f.CreateCounter("wesar_spikes_total", "Loss or gradient spikes detected in this process's runs", RunLabels);
        public readonly Counter Rollbacks = f.CreateCounter("wesar_rollbacks_total", "Rollbacks to an earlier checkpoint in this process's runs", RunLabels);
        public readonly Counter Restarts = f.CreateCounter("wesar_restarts_total", "Trainer restarts after a crash, as persisted by this process's coordinators", RunLabels);
        public readonly Gauge Runs = f.CreateGauge("wesar_runs", "Runs of the sweeps this process coordinates, per state", ["sweep", "state"]);
        public readonly Gauge Slots = f.CreateGauge("wesar_slots", "This process's training slots, busy or free", ["node", "state"]);
        public readonly Histogram JournalWrite = f.CreateHistogram("wesar_journal_write_seconds",
            "Time from a coordinator's atomic journal write to its confirmation",
            new HistogramConfiguration { Buckets = Histogram.ExponentialBuckets(0.001, 2, 14) });
    }

    /// <summary>Subscribes to the event stream and keeps the collectors current.</summary>
    sealed class Feed : ReceiveActor
    {
        readonly Dictionary<(SweepId, RunId), (long Step, DateTime At)> last = [];
        readonly Dictionary<SweepId, Dictionary<RunId, RunStatus>> runs = [];

        public Feed(Collectors c)
        {
            Receive<RunStarted>(r =>
            {
                c.Steps.WithLabels(Labels(r.Sweep, r.Run)).Inc(0);
                last[(r.Sweep, r.Run)] = (r.FromStep, DateTime.UtcNow);
            });
            Receive<RunProgress>(p =>
            {
                var key = (p.Sweep, p.Run);
                var labels = Labels(p.Sweep, p.Run);
                var now = DateTime.UtcNow;
                // From the step the run (re)started or was rolled back to: redone steps count again. Every step
                // trains on the same number of tokens.
                var before = last.TryGetValue(key, out var b) ? b : (Step: p.Line.Step, At: now);
                var steps = Math.Max(0, p.Line.Step - before.Step);
                c.Steps.WithLabels(labels).Inc(steps);
                c.Tokens.WithLabels(labels).Inc(p.Line.Step > 0 ? steps * (p.Line.Tokens / (double)p.Line.Step) : 0);
                var seconds = (now - before.At).TotalSeconds;
                if (steps > 0 && seconds > 0) c.StepsPerSecond.WithLabels(labels).Set(steps / seconds);
                c.TokensPerSecond.WithLabels(labels).Set(p.Line.TokensPerS);
                last[key] = (p.Line.Step, now);
            });
            Receive<RunNote>(n =>
            {
                var labels = Labels(n.Sweep, n.Run);
                switch (n.Note)
                {
                    case SpikeSignal: c.Spikes.WithLabels(labels).Inc(); break;
                    case RollbackOrder o:
                        c.Rollbacks.WithLabels(labels).Inc();
                        if (last.TryGetValue((n.Sweep, n.Run), out var l)) last[(n.Sweep, n.Run)] = l with { Step = o.ToStep };
                        break;
                }
            });
            Receive<RunChanged>(ch =>
            {
                var sweep = runs.TryGetValue(ch.Sweep, out var s) ? s : runs[ch.Sweep] = [];
                var restartsBefore = sweep.TryGetValue(ch.Run.Id, out var was) ? was.Restarts : ch.Run.Restarts;
                c.Restarts.WithLabels(Labels(ch.Sweep, ch.Run.Id)).Inc(Math.Max(0, ch.Run.Restarts - restartsBefore));
                sweep[ch.Run.Id] = ch.Run;
                foreach (var phase in Enum.GetValues<RunPhase>())
                    c.Runs.WithLabels(ch.Sweep.Value, phase.ToString().ToLowerInvariant()).Set(sweep.Values.Count(r => r.Phase == phase));
            });
            Receive<SlotUse>(u =>
            {
                c.Slots.WithLabels(u.Node, "busy").Set(u.Busy);
                c.Slots.WithLabels(u.Node, "free").Set(u.Total - u.Busy);
            });
            Receive<JournalWritten>(w => c.JournalWrite.Observe(w.Latency.TotalSeconds));
        }

        static string[] Labels(SweepId sweep, RunId run) => [sweep.Value, run.Value];
    }
}

/// <summary>The metrics endpoint could not be opened (a port in use, an address not of this machine).</summary>
public sealed class MetricsUnavailableException(string message, Exception inner) : Exception(message, inner);
