using Akka.Actor;
using Akka.Cluster.Tools.Client;
using WeSaR.Actors;
using WeSaR.Actors.Cluster;
using WeSaR.Actors.Hosting;
using WeSaR.Actors.Queries;
using WeSaR.Actors.Sweeps;

namespace WeSaR.Cli.Commands;

/// <summary>
/// `sweep run|resume --cluster`: hands the sweep to a running cluster through the cluster client and follows it
/// by polling the coordinator, so the view survives a coordinator fail-over (the client finds the new one).
/// Stopping this process does not stop the sweep.
/// </summary>
public static class ClusterSweep
{
    // A poll lost with a node that died is asked again soon; the cluster client moves to a live contact meanwhile.
    static readonly TimeSpan SubmitTimeout = TimeSpan.FromSeconds(60), PollTimeout = TimeSpan.FromSeconds(10), Poll = TimeSpan.FromSeconds(2);

    public static async Task<int> Run(SweepDefinition? definition, SweepId id, OrchestratorSettings settings, Akka.Configuration.Config config,
        IReadOnlyList<string> contacts, bool detach, string workdir)
    {
        var quiet = Akka.Configuration.ConfigurationFactory.ParseString("akka.loglevel = WARNING").WithFallback(config);
        var (system, client) = OrchestratorHost.Connect(settings, quiet, contacts);
        try
        {
            var reply = await Ask(client, new SubmitSweep(id, definition), SubmitTimeout);
            switch (reply)
            {
                case null:
                    return GlobalOptions.Fail($"no answer from the cluster at {string.Join(", ", contacts)} within {SubmitTimeout.TotalSeconds:G} s: "
                                              + "are the nodes up (`wesar node`), with a coordinator among them, and do TLS settings match?", GlobalOptions.Failed);
                case SweepRejected r:
                    return GlobalOptions.Fail(r.Reason);
            }
            Console.WriteLine($"sweep {id} is running on the cluster{(definition is null ? "" : $" ({definition.Runs.Count} run(s))")}");
            if (detach)
            {
                Console.WriteLine($"follow it with: wesar sweep status {id} (on the cluster's journal), or: wesar sweep resume {id} --cluster {string.Join(",", contacts)}");
                return 0;
            }
            Console.CancelKeyPress += (_, _) => Console.Error.WriteLine($"\nthe sweep goes on in the cluster; follow it again with: wesar sweep resume {id} --cluster {string.Join(",", contacts)}");
            var seen = new Dictionary<RunId, string>();
            while (true)
            {
                switch (await Ask(client, new QuerySweep(id), PollTimeout))
                {
                    case SweepState state:
                        foreach (var r in state.Runs)
                        {
                            var line = Describe(r);
                            if (seen.GetValueOrDefault(r.Id) != line) Console.WriteLine($"{DateTime.UtcNow:HH:mm:ss} [{r.Spec.Label}] {line}");
                            seen[r.Id] = line;
                        }
                        if (state.Phase == SweepPhase.Completed)
                        {
                            SweepCommand.PrintSummary(state, RunProjection.Of(state, settings.SharedDirFor(workdir)), settings.SharedDirFor(workdir));
                            return state.Runs.Any(r => r.Phase == RunPhase.Failed) ? GlobalOptions.Failed : 0;
                        }
                        break;
                    case SweepRejected r:
                        return GlobalOptions.Fail(r.Reason, GlobalOptions.Failed);
                    default:
                        Console.Error.WriteLine("no answer from the cluster yet (a coordinator fail-over takes a few seconds); asking again");
                        break;
                }
                await Task.Delay(Poll);
            }
        }
        finally { await system.Terminate(); }
    }

    static async Task<object?> Ask(IActorRef client, object message, TimeSpan timeout)
    {
        try { return await client.Ask<object>(new ClusterClient.Send(OrchestratorHost.SweepsPath, message), timeout); }
        catch (AskTimeoutException) { return null; }
    }

    static string Describe(RunStatus r) => r.Phase switch
    {
        RunPhase.Completed => $"completed: step {r.Result!.Step}, val loss {r.Result.ValLoss:F4}, spikes {r.Spikes}, rollbacks {r.Rollbacks}",
        RunPhase.Failed => $"failed: {r.Failure}",
        RunPhase.Running => $"running on {r.Node}/{r.Slot} (attempt {r.Attempt}), committed step {r.Resume.Step}, spikes {r.Spikes}, rollbacks {r.Rollbacks}",
        _ => "pending",
    };
}
