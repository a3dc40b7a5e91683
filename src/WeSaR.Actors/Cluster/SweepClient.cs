using Akka.Actor;
using Akka.Cluster.Tools.Client;
using WeSaR.Actors.Hosting;
using WeSaR.Actors.Sweeps;

namespace WeSaR.Actors.Cluster;

/// <summary>
/// A sweep handed to a running cluster from outside it (`sweep run|resume --cluster`): submitted through the
/// cluster client, then followed by polling the coordinator, so the view survives a coordinator fail-over (the
/// client finds the new one). Stopping the client does not stop the sweep.
/// </summary>
public sealed class SweepClient : IAsyncDisposable
{
    // A poll lost with a node that died is asked again soon; the cluster client moves to a live contact meanwhile.
    public static readonly TimeSpan SubmitTimeout = TimeSpan.FromSeconds(60);
    static readonly TimeSpan PollTimeout = TimeSpan.FromSeconds(10), Poll = TimeSpan.FromSeconds(2);

    readonly ActorSystem system;
    readonly IActorRef client;

    SweepClient(ActorSystem system, IActorRef client) => (this.system, this.client) = (system, client);

    /// <summary>A client of the cluster at <paramref name="contacts"/> ("host:port"), its own Akka logging quiet.</summary>
    public static SweepClient Connect(OrchestratorSettings settings, Akka.Configuration.Config config, IReadOnlyList<string> contacts)
    {
        var quiet = Akka.Configuration.ConfigurationFactory.ParseString("akka.loglevel = WARNING").WithFallback(config);
        var (system, client) = OrchestratorHost.Connect(settings, quiet, contacts);
        return new SweepClient(system, client);
    }

    /// <summary>The cluster's answer: <see cref="SweepAdmitted"/>, <see cref="SweepRejected"/>, or null when none came within <see cref="SubmitTimeout"/>.</summary>
    public Task<object?> Submit(SweepId id, SweepDefinition? definition) => Ask(new SubmitSweep(id, definition), SubmitTimeout);

    /// <summary>
    /// Polls the sweep until it completes and returns its final state, or the coordinator's rejection. Each state
    /// polled goes to <paramref name="onState"/>; a poll with no answer (a fail-over under way) to <paramref name="onNoAnswer"/>.
    /// </summary>
    public async Task<object> Follow(SweepId id, Action<SweepState> onState, Action onNoAnswer)
    {
        while (true)
        {
            switch (await Ask(new QuerySweep(id), PollTimeout))
            {
                case SweepState state:
                    onState(state);
                    if (state.Phase == SweepPhase.Completed) return state;
                    break;
                case SweepRejected r:
                    return r;
                default:
                    onNoAnswer();
                    break;
            }
            await Task.Delay(Poll);
        }
    }

    async Task<object?> Ask(object message, TimeSpan timeout)
    {
        try { return await client.Ask<object>(new ClusterClient.Send(OrchestratorHost.SweepsPath, message), timeout); }
        catch (AskTimeoutException) { return null; }
    }

    public async ValueTask DisposeAsync() => await system.Terminate();
}
