using System.Globalization;

namespace WeSaR.Training.Config;

/// <summary>The one way learning rates are written (labels, tables, progress): <c>3e-3</c>, <c>6e-5</c>, <c>2.5e-4</c>.</summary>
public static class LrFormat
{
    public static string Of(double lr) => lr.ToString("0.###e0", CultureInfo.InvariantCulture);
}
