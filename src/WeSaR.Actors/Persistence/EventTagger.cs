using Akka.Persistence.Journal;
using WeSaR.Actors.Sweeps;

namespace WeSaR.Actors.Persistence;

/// <summary>
/// Tags every event for queries across sweeps: "sweep", "sweep:&lt;id&gt;", "run:&lt;sweep&gt;/&lt;run&gt;" and one tag per
/// kind worth searching for ("checkpoint-rejected", "spike", "rollback", "run-completed", "run-failed", "restart", "retry").
/// </summary>
public sealed class EventTagger : IWriteEventAdapter
{
    public string Manifest(object evt) => "";

    public object ToJournal(object evt)
    {
        if (evt is not ISweepEvent e) return evt;
        var tags = new List<string> { "sweep", $"sweep:{e.Sweep}" };
        if (e is IRunEvent r) tags.Add($"run:{e.Sweep}/{r.Run}");   // run ids are unique within their sweep
        var kind = e switch
        {
            CheckpointRejected => "checkpoint-rejected",
            SpikeDetected => "spike",
            SpikeRiskRaised or SpikeRiskCleared => "risk",
            SpikeClassified => "verdict",
            RolledBack => "rollback",
            RunCompleted => "run-completed",
            RunFailed => "run-failed",
            RunRestarted => "restart",
            RunRetried => "retry",
            _ => null,
        };
        if (kind is not null) tags.Add(kind);
        return new Tagged(evt, tags);
    }
}
