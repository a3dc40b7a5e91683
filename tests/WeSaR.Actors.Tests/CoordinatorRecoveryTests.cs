using Akka.Actor;
using WeSaR.Actors.Hosting;
using WeSaR.Actors.Placement;
using WeSaR.Actors.Sweeps;
using WeSaR.Training.Loop;
using WeSaR.TestSupport;
using Xunit.Abstractions;

namespace WeSaR.Actors.Tests;

/// <summary>The coordinator against a real SQLite journal, with a probe standing in for the slots.</summary>
public sealed class CoordinatorRecoveryTests : Akka.TestKit.Xunit2.TestKit
{
    readonly TempDir dir;

    public CoordinatorRecoveryTests(ITestOutputHelper output) : this(TestEnv.NewTempDir(), output) { }

    CoordinatorRecoveryTests(TempDir dir, ITestOutputHelper output) : base(SystemConfig(dir), "recovery", output) => this.dir = dir;

    static Akka.Configuration.Config SystemConfig(TempDir dir)
    {
        var (settings, config) = SweepHarness.Config();
        // Other test classes train in parallel on 2 cores: give the journal more than TestKit's default 3 s.
        return Akka.Configuration.ConfigurationFactory.ParseString("akka.test.single-expect-default = 20s")
            .WithFallback(OrchestratorHost.SystemConfig(settings, config, dir.Path));
    }

    protected override void AfterAll()
    {
        base.AfterAll();
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        dir.Dispose();
    }

    static RunSummary Finished(long steps) => new("dir", steps, steps, false, 2.5, 12.2, 1000, 0, 0, 1, 100, 2.4, "sha", null);

    [Fact]
    public void After_a_crash_only_unfinished_runs_are_placed_again_from_their_last_committed_checkpoint()
    {
        var definition = SweepDefinition.Load(SweepHarness.Write(dir.Path, "rec", grid: "run.seed = [1, 2]"), [], 3);
        // Snapshots every 3 events: the second incarnation recovers from a snapshot plus the events after it.
        var deps = new CoordinatorContext(CreateTestProbe(), 3);
        var placement = CreateTestProbe();
        var first = Sys.ActorOf(SweepCoordinator.Props(definition.Id, deps with { Placement = placement }));
        first.Tell(new Begin(definition));
        var a = placement.ExpectMsg<PlaceRun>();
        var b = placement.ExpectMsg<PlaceRun>();
        Assert.Equal((ResumePoint.Fresh, ResumePoint.Fresh), (a.Resume, b.Resume));
        first.Tell(new RunPlaced(a.Spec.Id, "node", "cpu-0", "cpu", 0));
        first.Tell(new RunPlaced(b.Spec.Id, "node", "cpu-1", "cpu", 0));
        first.Tell(new CommitCheckpoint(a.Spec.Id, 40, "sha-a"));
        ExpectMsg<Ack>();
        first.Tell(new CommitCheckpoint(b.Spec.Id, 20, "sha-b"));
        ExpectMsg<Ack>();
        first.Tell(new RunEnded(a.Spec.Id, Finished(40)));
        first.Tell(GetSweepState.Instance);
        Assert.Equal(RunPhase.Completed, ExpectMsg<SweepState>().Run(a.Spec.Id)!.Phase);
        Watch(first);
        Sys.Stop(first);
        ExpectTerminated(first);

        var placement2 = CreateTestProbe();
        var second = Sys.ActorOf(SweepCoordinator.Props(definition.Id, deps with { Placement = placement2 }));
        second.Tell(new Begin(null));
        var again = placement2.ExpectMsg<PlaceRun>();
        Assert.Equal(b.Spec.Id, again.Spec.Id);
        Assert.Equal(new ResumePoint(20, "sha-b"), again.Resume);
        placement2.ExpectNoMsg(TimeSpan.FromMilliseconds(300));

        second.Tell(new RunEnded(b.Spec.Id, Finished(40)));
        var done = ExpectMsg<SweepFinished>();
        Assert.All(done.State.Runs, r => Assert.Equal(RunPhase.Completed, r.Phase));
        second.Tell(new RunEnded(b.Spec.Id, Finished(40)));   // a duplicate report changes nothing
        second.Tell(new Begin(null));
        Assert.Equal(done.State, ExpectMsg<SweepFinished>().State);
        placement2.ExpectNoMsg(TimeSpan.FromMilliseconds(200));
    }

    [Fact]
    public void A_run_whose_node_is_gone_is_placed_again_from_its_last_commit_as_a_new_attempt_and_an_ended_one_is_not()
    {
        var definition = SweepDefinition.Load(SweepHarness.Write(dir.Path, "orphan", grid: "run.seed = [1, 2]"), [], 3);
        var placement = CreateTestProbe();
        var c = Sys.ActorOf(SweepCoordinator.Props(definition.Id, new CoordinatorContext(placement, 100)));
        c.Tell(new Begin(definition));
        var a = placement.ExpectMsg<PlaceRun>();
        var b = placement.ExpectMsg<PlaceRun>();
        c.Tell(new RunPlaced(a.Spec.Id, "10.0.0.2:4053", "cuda-0", "cuda:0", 0));
        c.Tell(new RunPlaced(b.Spec.Id, "10.0.0.2:4053", "cuda-1", "cuda:1", 0));
        c.Tell(new CommitCheckpoint(a.Spec.Id, 30, "sha-30"));
        ExpectMsg<Ack>();
        c.Tell(new RunEnded(b.Spec.Id, Finished(40)));

        c.Tell(new RunOrphaned(a.Spec.Id, "10.0.0.2:4053"));
        c.Tell(new RunOrphaned(b.Spec.Id, "10.0.0.2:4053"));
        var again = placement.ExpectMsg<PlaceRun>();
        Assert.Equal((a.Spec.Id, new ResumePoint(30, "sha-30"), 1, 0), (again.Spec.Id, again.Resume, again.Attempt, again.Restarts));
        placement.ExpectNoMsg(TimeSpan.FromMilliseconds(300));   // the completed run stays completed

        c.Tell(new RunPlaced(a.Spec.Id, "10.0.0.3:4053", "cuda-0", "cuda:0", again.Attempt));
        c.Tell(GetSweepState.Instance);
        var run = ExpectMsg<SweepState>().Run(a.Spec.Id)!;
        Assert.Equal(("10.0.0.3:4053", 1, 0), (run.Node, run.Attempt, run.Restarts));   // a move, not a restart
    }

    [Fact]
    public void Resuming_a_sweep_that_is_not_in_the_journal_is_rejected()
    {
        var c = Sys.ActorOf(SweepCoordinator.Props(new SweepId("nope-1"), new CoordinatorContext(CreateTestProbe(), 100)));
        c.Tell(new Begin(null));
        Assert.Contains("no sweep 'nope-1' in the journal", ExpectMsg<SweepRejected>().Reason);
    }
}
