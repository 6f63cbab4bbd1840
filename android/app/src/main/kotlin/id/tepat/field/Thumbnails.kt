package id.tepat.field

import android.graphics.Bitmap
import android.graphics.BitmapFactory
import android.util.LruCache
import android.widget.ImageView
import android.widget.LinearLayout

/**
 * Small copies of the photos taken, for the photo fields: decoded once at about the size shown (never the whole
 * 1600 px photo into memory on a 2 GB phone) and kept in a small cache, since a field is redrawn on every tap.
 */
object Thumbnails {
    /** Pixels of the longer edge asked of the decoder, at least (it halves the photo while it stays above). */
    const val EDGE_PX = 240

    private val cache = object : LruCache<String, Bitmap>(CACHE_BYTES) {
        override fun sizeOf(key: String, value: Bitmap): Int = value.byteCount
    }

    /** The thumbnail of the JPEG at [file], or `null` when it cannot be read (gone, not an image). */
    fun of(file: String): Bitmap? {
        cache.get(file)?.let { return it }
        val bounds = BitmapFactory.Options().apply { inJustDecodeBounds = true }
        BitmapFactory.decodeFile(file, bounds)
        if (bounds.outWidth <= 0 || bounds.outHeight <= 0) return null
        var sample = 1
        while (maxOf(bounds.outWidth, bounds.outHeight) / (sample * 2) >= EDGE_PX) sample *= 2
        val bitmap = BitmapFactory.decodeFile(file, BitmapFactory.Options().apply { inSampleSize = sample })
            ?: return null
        cache.put(file, bitmap)
        return bitmap
    }

    private const val CACHE_BYTES = 4 * 1024 * 1024
}

/** The photo at [file] as a thumbnail (tagged `thumb:<file>`), or `null` when it cannot be shown. */
fun Ui.thumbnail(file: String): ImageView? {
    val bitmap = Thumbnails.of(file) ?: return null
    return ImageView(context).apply {
        tag = "thumb:$file"
        contentDescription = string(R.string.photo_taken)
        setImageBitmap(bitmap)
        adjustViewBounds = true
        scaleType = ImageView.ScaleType.FIT_START
        layoutParams = LinearLayout.LayoutParams(dp(120), dp(120))
    }
}
