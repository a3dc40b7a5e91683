namespace WeSaR.Training.Spikes;

static class Statistics
{
    /// <summary>The middle value, or the mean of the two middle ones; robust to the one outlier a spike is.</summary>
    public static double Median(IEnumerable<double> values)
    {
        var sorted = values.Order().ToList();
        return (sorted[(sorted.Count - 1) / 2] + sorted[sorted.Count / 2]) / 2;
    }
}
