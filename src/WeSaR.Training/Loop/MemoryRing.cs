using WeSaR.Training.Spikes;

namespace WeSaR.Training.Loop;

/// <summary>A checkpoint kept in memory, with what a rollback restores besides the trainer.</summary>
sealed record KeptCheckpoint(MemoryState State, IReadOnlyList<StreamPoint> History, RiskState Risk);

/// <summary>
/// checkpoint.memory: copies of the newest committed checkpoints, so that a rollback to one of them is a few copies in
/// place. Each is added only once its checkpoint is committed on disk, which is where rollback targets are chosen.
/// Held in host memory, where there is room for them beside a GPU's training state.
/// </summary>
sealed class MemoryRing(int capacity) : IDisposable
{
    readonly List<KeptCheckpoint> kept = [];   // oldest first

    public void Add(Trainer trainer, IReadOnlyList<StreamPoint> history, RiskState risk)
    {
        if (capacity == 0) return;
        MemoryState state;
        if (kept.Count == capacity)
        {
            state = kept[0].State;   // its buffers are reused
            kept.RemoveAt(0);
        }
        else state = new MemoryState(host: true);
        trainer.Keep(state);
        kept.Add(new KeptCheckpoint(state, [.. history], risk));
    }

    public KeptCheckpoint? Find(long step) => kept.FirstOrDefault(k => k.State.Step == step);

    /// <summary>Forgets checkpoints newer than <paramref name="step"/>: they belong to a history that was rolled back.</summary>
    public void DropAfter(long step)
    {
        foreach (var k in kept.Where(k => k.State.Step > step).ToList())
        {
            k.State.Dispose();
            kept.Remove(k);
        }
    }

    public void Dispose()
    {
        foreach (var k in kept) k.State.Dispose();
        kept.Clear();
    }
}
