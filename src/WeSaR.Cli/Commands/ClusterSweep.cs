using WeSaR.Actors;
using WeSaR.Actors.Cluster;
using WeSaR.Actors.Queries;
using WeSaR.Actors.Sweeps;

namespace WeSaR.Cli.Commands;

/// <summary>`sweep run|resume --cluster`: submits through <see cref="SweepClient"/> and prints what it follows.</summary>
public static class ClusterSweep
{
    public static async Task<int> Run(SweepDefinition? definition, SweepId id, OrchestratorSettings settings, Akka.Configuration.Config config,
        IReadOnlyList<string> contacts, bool detach, string workdir)
    {
        await using var client = SweepClient.Connect(settings, config, contacts);
        switch (await client.Submit(id, definition))
        {
            case null:
                return GlobalOptions.Fail($"no answer from the cluster at {string.Join(", ", contacts)} within {SweepClient.SubmitTimeout.TotalSeconds:G} s: "
                                          + "are the nodes up (`wesar node`), with a coordinator among them, and do TLS settings match?", GlobalOptions.Failed);
            case SweepRejected r:
                return GlobalOptions.Fail(r.Reason);
        }
        Console.WriteLine($"sweep {id} is running on the cluster{(definition is null ? "" : $" ({definition.Runs.Count} run(s))")}");
        var again = $"wesar sweep resume {id} --cluster {string.Join(",", contacts)}";
        if (detach)
        {
            Console.WriteLine($"follow it with: wesar sweep status {id} (on the cluster's journal), or: {again}");
            return 0;
        }
        Console.CancelKeyPress += (_, _) => Console.Error.WriteLine($"\nthe sweep goes on in the cluster; follow it again with: {again}");
        var seen = new Dictionary<RunId, string>();
        var end = await client.Follow(id, state =>
        {
            foreach (var r in state.Runs)
            {
                var line = Describe(r);
                if (seen.GetValueOrDefault(r.Id) != line) Console.WriteLine($"{DateTime.UtcNow:HH:mm:ss} [{r.Spec.Label}] {line}");
                seen[r.Id] = line;
            }
        }, () => Console.Error.WriteLine("no answer from the cluster yet (a coordinator fail-over takes a few seconds); asking again"));
        if (end is SweepRejected rejected) return GlobalOptions.Fail(rejected.Reason, GlobalOptions.Failed);
        var final = (SweepState)end;
        var shared = settings.SharedDirFor(workdir);
        SweepCommand.PrintSummary(final, RunProjection.Of(final, shared), shared);
        return final.Runs.Any(r => r.Phase == RunPhase.Failed) ? GlobalOptions.Failed : 0;
    }

    static string Describe(RunStatus r) => r.Phase switch
    {
        RunPhase.Completed => $"completed: step {r.Result!.Step}, val loss {r.Result.ValLoss:F4}, spikes {r.Spikes}, rollbacks {r.Rollbacks}",
        RunPhase.Failed => $"failed: {r.Failure}",
        RunPhase.Interrupted => $"interrupted at committed step {r.Resume.Step}: {r.Failure}",
        RunPhase.Running => $"running on {r.Node}/{r.Slot} (attempt {r.Attempt}), committed step {r.Resume.Step}, spikes {r.Spikes}, rollbacks {r.Rollbacks}",
        _ => "pending",
    };
}
