using System.Collections.Immutable;
using Akka.Actor;
using Akka.Serialization;
using WeSaR.Actors.Hosting;
using WeSaR.Actors.Persistence;
using WeSaR.Actors.Sweeps;
using WeSaR.Training.Loop;
using WeSaR.TestSupport;

namespace WeSaR.Actors.Tests;

public sealed class ProtocolSerializerTests : IAsyncLifetime
{
    readonly TempDir dir = TestEnv.NewTempDir();
    ActorSystem system = null!;

    static readonly SweepId S = new("s-1");
    static readonly RunId R = new("r-1");
    static readonly RunSpec Spec = new(R, "scheme=he", "train.steps = \"40\"");

    public static TheoryData<object> Persisted() =>
    [
        new SweepStarted(S, "s", [Spec], 3, new DateTime(2026, 1, 2, 3, 4, 5, DateTimeKind.Utc)),
        new RunScheduled(S, R),
        new RunAssigned(S, R, "node", "cpu-0", "cpu", 1),
        new CheckpointCommitted(S, R, 100, "ab12"),
        new CheckpointRejected(S, R, 100, "model.bin does not match its manifest hash", 90, "cd34"),
        new CheckpointRejected(S, R, 10, "the committed checkpoint is missing", 0, null),
        new SpikeDetected(S, R, 61, "z-score", "loss", 125.7, 2.5, 0.1, 3.1),
        new SpikeDetected(S, R, 7, "non-finite", "loss", double.NaN, double.NaN, double.NaN, double.NaN),
        new RolledBack(S, R, 61, 50, "cd34", 11, 0.5),
        new RolledBack(S, R, 9, 0, null, 9, 1.0),
        new RunRestarted(S, R, 2, "InjectedFault: boom"),
        new RunCompleted(S, R, new FinalMetrics(40, 2.5, 12.2, 2.4, 1234.5, "ef56", 1, 1)),
        new RunFailed(S, R, 30, "gave up"),
        new SweepCompleted(S, 3, 1, new DateTime(2026, 1, 2, 3, 4, 5, DateTimeKind.Utc)),
        new Cluster.SweepAdmitted(S),
        new RunRetried(S, R, "gave up after 3 restart(s): boom", new DateTime(2026, 1, 2, 3, 4, 5, DateTimeKind.Utc)),
        new RunInterrupted(S, R, 20, "the disk is full (run scheme=he: IOException: No space left on device)"),
        new SpikeRiskRaised(S, R, 3, "max-ratio", "h.0.mlp.down_proj", 0.379, 0.25),
        new SpikeRiskCleared(S, R, 12, "h.1.attn.q_proj", 0.081),
        new SpikeClassified(S, R, 12, "transient", "z-score", "loss", 142.7, 2.71, false),
    ];

    public Task InitializeAsync()
    {
        var (settings, config) = SweepHarness.Config();
        system = ActorSystem.Create("ser", OrchestratorHost.SystemConfig(settings, config, dir.Path));
        return Task.CompletedTask;
    }

    public async Task DisposeAsync()
    {
        await system.Terminate();
        dir.Dispose();
    }

    [Theory]
    [MemberData(nameof(Persisted))]
    public void Every_event_is_bound_to_the_protocol_serializer_with_a_versioned_manifest_and_round_trips(object e)
    {
        var serializer = system.Serialization.FindSerializerFor(e);
        var withManifest = Assert.IsType<ProtocolSerializer>(serializer);
        var manifest = withManifest.Manifest(e);
        Assert.Equal(e.GetType().Name + ".v1", manifest);
        var back = withManifest.FromBinary(withManifest.ToBinary(e), manifest);
        // Records compare by value; lists inside compare by reference, so compare their JSON instead.
        Assert.Equal(System.Text.Json.JsonSerializer.Serialize(e, e.GetType(), ProtocolSerializer.Json),
            System.Text.Json.JsonSerializer.Serialize(back, back.GetType(), ProtocolSerializer.Json));
        Assert.Equal(e.GetType(), back.GetType());
    }

    /// <summary>One of every message that crosses the network; <paramref name="actor"/> stands for each actor reference.</summary>
    static IReadOnlyList<IWireMessage> Wire(IActorRef actor)
    {
        var resume = new ResumePoint(20, "ab12", 6, 0.5);
        var spike = new WeSaR.Training.Spikes.SpikeSignal(36, "z-score", WeSaR.Training.Spikes.SpikeMetric.Loss, 9.5, 3, 0.5, 6);
        var place = new PlaceRun(S, Spec, resume, 2, 1, 1, actor);
        return
        [
            new SweepRejected("no"), Ack.Instance, new CommitCheckpoint(R, 20, "ab12"),
            new RejectCheckpoints(R, [new RejectedCheckpoint(30, "missing")], resume),
            new RecordRisk(R, new WeSaR.Training.Spikes.RiskSignal(3, true, "spread", "h.0.mlp.down_proj", 9.2, 8)),
            new RecordVerdict(R, new WeSaR.Training.Spikes.SpikeVerdict(spike, false, 9.5, 9.5, 9.1, true)),
            new RecordSpike(R, spike, new WeSaR.Training.Spikes.SpikeDecision(new WeSaR.Training.Spikes.RollbackOrder(36, 30, 6, 0.5), null), "ab12"),
            new RunEnded(R, new RunSummary("dir", 40, 40, false, 2.5, 12.2, 1000, 1, 1, 9.5, 869_504, 2.4, "ef56", null)),
            new RunCrashed(R, "IOException: No space left on device", "the disk is full"), new RestartRun(resume, 2, 1, 1), new RunGivenUp("gave up"),
            place, new StopRuns(S), RunsStopped.Instance,
            new Placement.OfferSlots(actor), new Placement.SlotsOffered("node:1", [new Placement.SlotOffer(new SlotSpec("cpu-0", "cpu", 1), actor, true)]),
            new Placement.SlotFreed(actor), new Placement.SlotBusy(place),
            new Cluster.SubmitSweep(S, new SweepDefinition(S, "s", 3, [Spec])), new Cluster.SubmitSweep(S, null), new Cluster.QuerySweep(S),
            new Cluster.SweepAdmitted(S),
        ];
    }

    [Fact]
    public void Every_message_that_crosses_the_network_is_bound_to_the_protocol_serializer_and_round_trips_with_its_actor_references()
    {
        var actor = system.ActorOf(Props.Empty, "probe");
        var messages = Wire(actor);
        // A new wire message needs a sample here, and gets a manifest by its own name.
        var all = typeof(IWireMessage).Assembly.GetTypes().Where(t => t.IsClass && typeof(IWireMessage).IsAssignableFrom(t)).ToHashSet();
        Assert.Equal(all.Select(t => t.Name).Order(), messages.Select(m => m.GetType()).Distinct().Select(t => t.Name).Order());
        Assert.Equal(all.Select(t => t.Name + ".v1").Order(), ProtocolSerializer.WireManifests.Append("SweepAdmitted.v1").Order());
        foreach (var m in messages)
        {
            var serializer = Assert.IsType<ProtocolSerializer>(system.Serialization.FindSerializerFor(m));
            var manifest = serializer.Manifest(m);
            Assert.Equal(m.GetType().Name + ".v1", manifest);
            var bytes = serializer.ToBinary(m);
            Assert.DoesNotContain("WeSaR.", System.Text.Encoding.UTF8.GetString(bytes));   // no .NET type names on the wire
            var back = serializer.FromBinary(bytes, manifest);
            Assert.Equal(m.GetType(), back.GetType());
            Assert.Equal(bytes, serializer.ToBinary(back));
            // References come back as the same actor, so replies to them arrive.
            IActorRef? Reference(object x) => x switch
            {
                PlaceRun p => p.Coordinator, Placement.OfferSlots o => o.Placement, Placement.SlotFreed f => f.Supervisor,
                Placement.SlotsOffered o => o.Slots.Single().Supervisor, Placement.SlotBusy b => b.Work.Coordinator, _ => null,
            };
            if (Reference(m) is not null) Assert.Equal(actor, Reference(back));
        }
    }

    [Fact]
    public void A_rejected_checkpoint_is_written_as_this_exact_payload()
    {
        // Journals outlive the code: the v1 shape is pinned, and a journal written by this version must read back.
        const string golden = """{"sweep":{"value":"s-1"},"run":{"value":"r-1"},"step":100,"reason":"damaged","resumeStep":90,"resumeManifestSha256":"cd34"}""";
        var e = new CheckpointRejected(S, R, 100, "damaged", 90, "cd34");
        var serializer = (SerializerWithStringManifest)system.Serialization.FindSerializerFor(e);
        Assert.Equal(golden, System.Text.Encoding.UTF8.GetString(serializer.ToBinary(e)));
        Assert.Equal(e, serializer.FromBinary(System.Text.Encoding.UTF8.GetBytes(golden), "CheckpointRejected.v1"));
    }

    [Fact]
    public void A_rollback_is_written_as_this_exact_payload()
    {
        // SkipBatches keeps the v1 JSON name "skippedBatches", so journals written before the rename still read.
        const string golden = """{"sweep":{"value":"s-1"},"run":{"value":"r-1"},"fromStep":61,"toStep":50,"toManifestSha256":"cd34","skippedBatches":11,"lrScale":0.5}""";
        var e = new RolledBack(S, R, 61, 50, "cd34", 11, 0.5);
        var serializer = (SerializerWithStringManifest)system.Serialization.FindSerializerFor(e);
        Assert.Equal(golden, System.Text.Encoding.UTF8.GetString(serializer.ToBinary(e)));
        Assert.Equal(e, serializer.FromBinary(System.Text.Encoding.UTF8.GetBytes(golden), "RolledBack.v1"));
    }

    [Fact]
    public void A_run_phase_is_written_in_json_as_the_lower_case_word()
    {
        // CLI JSON (`runs list --json`) has always shown "completed", "running", ...; scripts read those words.
        var options = new System.Text.Json.JsonSerializerOptions { Converters = { new Queries.RunPhaseJson() } };
        foreach (var phase in Enum.GetValues<RunPhase>())
        {
            var json = System.Text.Json.JsonSerializer.Serialize(phase, options);
            Assert.Equal($"\"{phase.ToString().ToLowerInvariant()}\"", json);
            Assert.Equal(phase, System.Text.Json.JsonSerializer.Deserialize<RunPhase>(json, options));
        }
    }

    [Fact]
    public void The_snapshot_state_round_trips_and_an_unknown_manifest_fails_loudly()
    {
        var state = SweepState.Empty(S).Apply(new SweepStarted(S, "s", [Spec], 3, DateTime.UnixEpoch))
            .Apply(new RolledBack(S, R, 61, 50, "cd34", 11, 0.5));
        var serializer = (SerializerWithStringManifest)system.Serialization.FindSerializerFor(state);
        var back = (SweepState)serializer.FromBinary(serializer.ToBinary(state), serializer.Manifest(state));
        Assert.Equal(new ResumePoint(50, "cd34", 11, 0.5, AfterRollback: true), back.Runs.Single().Resume);
        Assert.Equal(state.Runs.Single() with { Spec = back.Runs.Single().Spec }, back.Runs.Single());
        Assert.Throws<System.Runtime.Serialization.SerializationException>(() => serializer.FromBinary([], "SweepStarted.v99"));
    }

    [Fact]
    public void The_fold_tracks_resume_points_through_commits_rollbacks_and_restarts()
    {
        var s = SweepState.Empty(S);
        foreach (var e in new ISweepEvent[]
                 {
                     new SweepStarted(S, "s", [Spec], 3, DateTime.UnixEpoch), new RunScheduled(S, R), new RunAssigned(S, R, "n", "cpu-0", "cpu", 0),
                     new CheckpointCommitted(S, R, 10, "a"), new CheckpointCommitted(S, R, 20, "b"),
                     new SpikeDetected(S, R, 25, "z-score", "loss", 9, 1, 1, 7), new RolledBack(S, R, 25, 10, "a", 15, 0.5),
                 })
            s = s.Apply(e);
        var run = s.Runs.Single();
        Assert.Equal((RunPhase.Running, 1, 1), (run.Phase, run.Spikes, run.Rollbacks));
        Assert.Equal(new ResumePoint(10, "a", 15, 0.5, AfterRollback: true), run.Resume);
        s = s.Apply(new RunRestarted(S, R, 1, "x")).Apply(new CheckpointCommitted(S, R, 20, "c"));
        Assert.Equal(new ResumePoint(20, "c"), s.Runs.Single().Resume);   // the new checkpoint carries the skip and scale
        Assert.Equal((1, 1), (s.Runs.Single().Restarts, s.Runs.Single().Attempt));
        // A damaged checkpoint moves the resume point back and spends no restart.
        s = s.Apply(new CheckpointRejected(S, R, 20, "damaged", 10, "a"));
        Assert.Equal((new ResumePoint(10, "a"), 1), (s.Runs.Single().Resume, s.Runs.Single().Restarts));
        s = s.Apply(new RunCompleted(S, R, new FinalMetrics(40, 1, 1, 1, 1, "m", 1, 1)));
        Assert.True(s.AllEnded);
        Assert.Equal(ImmutableList.Create(RunPhase.Completed), s.Runs.Select(r => r.Phase).ToImmutableList());
    }
}
