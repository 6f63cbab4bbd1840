package id.tepat.field

import android.content.Context
import android.content.res.Configuration
import android.content.res.Resources
import id.tepat.core.ffi.Lang
import java.util.Locale

/**
 * The app's own words in the language the core shows (the person's setting in the core, Bahasa Indonesia by
 * default), whatever the phone's system language is.
 */
object Localized {
    private var cached: Pair<Lang, Resources>? = null

    fun resources(context: Context, lang: Lang): Resources {
        cached?.let { (l, r) -> if (l == lang) return r }
        val config = Configuration(context.resources.configuration)
        // `values/` is Bahasa Indonesia; Android names Indonesian `in`.
        config.setLocale(if (lang == Lang.EN) Locale.ENGLISH else Locale("in", "ID"))
        val resources = context.createConfigurationContext(config).resources
        cached = lang to resources
        return resources
    }

    fun of(context: Context): Resources {
        val lang = TepatApplication.of(context).session.views.value?.lang ?: Lang.ID
        return resources(context, lang)
    }
}
