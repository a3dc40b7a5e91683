namespace WeSaR.Training.Loop;

/// <summary>Linear warm-up to the peak, then cosine decay to peak·minRatio at the last step; a pure function of the step.</summary>
public static class LrSchedule
{
    public static double At(long step, double peak, long warmup, long total, double minRatio)
    {
        if (step < warmup) return peak * (step + 1) / warmup;
        if (total <= warmup) return peak;
        var progress = Math.Min(1.0, (double)(step - warmup) / (total - warmup));
        return peak * (minRatio + (1 - minRatio) * 0.5 * (1 + Math.Cos(Math.PI * progress)));
    }
}
