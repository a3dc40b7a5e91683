namespace WeSaR.Model.Checkpoints;

/// <summary>The most recent checkpoints kept in memory, so a rollback does not have to read the disk.</summary>
public sealed class CheckpointRing(int capacity)
{
    readonly LinkedList<Checkpoint> items = new();

    public int Count => items.Count;

    public void Add(Checkpoint c)
    {
        if (capacity <= 0) return;
        DropAfter(c.Step - 1);
        items.AddLast(c);
        while (items.Count > capacity) items.RemoveFirst();
    }

    /// <summary>Newest checkpoint at or before the step, if the ring still holds one.</summary>
    public Checkpoint? LatestAtOrBefore(long step) => items.LastOrDefault(c => c.Step <= step);

    /// <summary>Forgets checkpoints after the step (a rolled-back history).</summary>
    public void DropAfter(long step)
    {
        while (items.Last is { } last && last.Value.Step > step) items.RemoveLast();
    }
}
