package translate

// The phrase tables: the describer's closed vocabulary in each language, and common short
// words for text outside its sentences.

// colourNames are the colour names (image-features' list of 34) as nouns: in French and
// Spanish colour nouns are masculine and never agree, in German they are capitalised neuters.
var colourNames = map[string]map[string]string{
	"fr": {
		"black": "noir", "dark gray": "gris foncé", "gray": "gris", "silver": "argenté", "white": "blanc",
		"maroon": "bordeaux", "red": "rouge", "crimson": "cramoisi", "pink": "rose", "salmon": "saumon",
		"coral": "corail", "orange": "orange", "gold": "doré", "yellow": "jaune", "cream": "crème",
		"beige": "beige", "khaki": "kaki", "tan": "fauve", "brown": "marron", "olive": "vert olive",
		"lime": "vert citron", "green": "vert", "dark green": "vert foncé", "teal": "bleu sarcelle",
		"turquoise": "turquoise", "cyan": "cyan", "sky blue": "bleu ciel", "blue": "bleu", "navy": "bleu marine",
		"indigo": "indigo", "purple": "violet", "violet": "mauve", "magenta": "magenta", "lavender": "lavande",
	},
	"es": {
		"black": "negro", "dark gray": "gris oscuro", "gray": "gris", "silver": "plateado", "white": "blanco",
		"maroon": "granate", "red": "rojo", "crimson": "carmesí", "pink": "rosa", "salmon": "salmón",
		"coral": "coral", "orange": "naranja", "gold": "dorado", "yellow": "amarillo", "cream": "crema",
		"beige": "beis", "khaki": "caqui", "tan": "canela", "brown": "marrón", "olive": "verde oliva",
		"lime": "verde lima", "green": "verde", "dark green": "verde oscuro", "teal": "verde azulado",
		"turquoise": "turquesa", "cyan": "cian", "sky blue": "azul cielo", "blue": "azul", "navy": "azul marino",
		"indigo": "índigo", "purple": "morado", "violet": "violeta", "magenta": "magenta", "lavender": "lavanda",
	},
	"de": {
		"black": "Schwarz", "dark gray": "Dunkelgrau", "gray": "Grau", "silver": "Silber", "white": "Weiß",
		"maroon": "Kastanienbraun", "red": "Rot", "crimson": "Karmesinrot", "pink": "Rosa", "salmon": "Lachsrosa",
		"coral": "Koralle", "orange": "Orange", "gold": "Gold", "yellow": "Gelb", "cream": "Creme",
		"beige": "Beige", "khaki": "Khaki", "tan": "Hellbraun", "brown": "Braun", "olive": "Oliv",
		"lime": "Limettengrün", "green": "Grün", "dark green": "Dunkelgrün", "teal": "Petrol",
		"turquoise": "Türkis", "cyan": "Cyan", "sky blue": "Himmelblau", "blue": "Blau", "navy": "Marineblau",
		"indigo": "Indigo", "purple": "Lila", "violet": "Violett", "magenta": "Magenta", "lavender": "Lavendel",
	},
}

// words are single words and short phrases for text outside the describer's sentences,
// translated one by one (phrases of up to three words first). Nouns that need an article take
// the one they most often have.
var words = map[string]map[string]string{
	"fr": {
		"a": "un", "an": "un", "the": "le", "and": "et", "or": "ou", "of": "de", "with": "avec", "without": "sans",
		"in": "dans", "on": "sur", "at": "à", "to": "à", "for": "pour", "from": "de", "by": "par", "is": "est",
		"are": "sont", "was": "était", "it": "il", "this": "ce", "that": "cela", "these": "ces", "not": "pas",
		"no": "non", "yes": "oui", "very": "très", "more": "plus", "less": "moins", "image": "image",
		"picture": "image", "photo": "photo", "color": "couleur", "colors": "couleurs", "colour": "couleur",
		"colours": "couleurs", "size": "taille", "tiny": "minuscule", "small": "petit", "medium": "moyen",
		"large": "grand", "big": "grand", "landscape": "paysage", "portrait": "portrait", "square": "carré",
		"mostly": "principalement", "partly": "en partie", "touches": "touches", "dark": "sombre",
		"dim": "peu lumineux", "bright": "lumineux", "light": "clair", "flat": "plat", "moderate": "modéré",
		"high": "élevé", "low": "bas", "contrast": "contraste", "muted": "terne", "vivid": "vif",
		"sky": "ciel", "sea": "mer", "water": "eau", "sun": "soleil", "tree": "arbre", "trees": "arbres",
		"house": "maison", "city": "ville", "street": "rue", "car": "voiture", "dog": "chien", "cat": "chat",
		"person": "personne", "people": "gens", "day": "jour", "night": "nuit", "background": "arrière-plan",
		"left": "gauche", "right": "droite", "top": "haut", "bottom": "bas", "center": "centre",
		"one": "un", "two": "deux", "three": "trois", "some": "quelques", "many": "beaucoup", "all": "tout",
		"has": "a", "have": "ont", "there": "là", "here": "ici", "good": "bon", "bad": "mauvais",
		"new": "nouveau", "old": "vieux", "hello": "bonjour", "thank you": "merci", "please": "s'il vous plaît",
		"summary": "résumé", "description": "description",
	},
	"es": {
		"a": "un", "an": "un", "the": "el", "and": "y", "or": "o", "of": "de", "with": "con", "without": "sin",
		"in": "en", "on": "sobre", "at": "en", "to": "a", "for": "para", "from": "de", "by": "por", "is": "es",
		"are": "son", "was": "era", "it": "eso", "this": "este", "that": "eso", "these": "estos", "not": "no",
		"no": "no", "yes": "sí", "very": "muy", "more": "más", "less": "menos", "image": "imagen",
		"picture": "imagen", "photo": "foto", "color": "color", "colors": "colores", "colour": "color",
		"colours": "colores", "size": "tamaño", "tiny": "diminuto", "small": "pequeño", "medium": "mediano",
		"large": "grande", "big": "grande", "landscape": "paisaje", "portrait": "retrato", "square": "cuadrado",
		"mostly": "mayormente", "partly": "en parte", "touches": "toques", "dark": "oscuro", "dim": "tenue",
		"bright": "luminoso", "light": "claro", "flat": "plano", "moderate": "moderado", "high": "alto",
		"low": "bajo", "contrast": "contraste", "muted": "apagado", "vivid": "vivo", "sky": "cielo",
		"sea": "mar", "water": "agua", "sun": "sol", "tree": "árbol", "trees": "árboles", "house": "casa",
		"city": "ciudad", "street": "calle", "car": "coche", "dog": "perro", "cat": "gato", "person": "persona",
		"people": "gente", "day": "día", "night": "noche", "background": "fondo", "left": "izquierda",
		"right": "derecha", "top": "arriba", "bottom": "abajo", "center": "centro", "one": "uno", "two": "dos",
		"three": "tres", "some": "algunos", "many": "muchos", "all": "todo", "has": "tiene", "have": "tienen",
		"there": "allí", "here": "aquí", "good": "bueno", "bad": "malo", "new": "nuevo", "old": "viejo",
		"hello": "hola", "thank you": "gracias", "please": "por favor", "summary": "resumen",
		"description": "descripción",
	},
	"de": {
		"a": "ein", "an": "ein", "the": "das", "and": "und", "or": "oder", "of": "von", "with": "mit",
		"without": "ohne", "in": "in", "on": "auf", "at": "bei", "to": "zu", "for": "für", "from": "von",
		"by": "von", "is": "ist", "are": "sind", "was": "war", "it": "es", "this": "dies", "that": "das",
		"these": "diese", "not": "nicht", "no": "nein", "yes": "ja", "very": "sehr", "more": "mehr",
		"less": "weniger", "image": "Bild", "picture": "Bild", "photo": "Foto", "color": "Farbe",
		"colors": "Farben", "colour": "Farbe", "colours": "Farben", "size": "Größe", "tiny": "winzig",
		"small": "klein", "medium": "mittelgroß", "large": "groß", "big": "groß", "landscape": "Landschaft",
		"portrait": "Porträt", "square": "quadratisch", "mostly": "überwiegend", "partly": "teilweise",
		"touches": "Akzente", "dark": "dunkel", "dim": "eher dunkel", "bright": "hell", "light": "hell",
		"flat": "flach", "moderate": "mäßig", "high": "hoch", "low": "niedrig", "contrast": "Kontrast",
		"muted": "gedämpft", "vivid": "kräftig", "sky": "Himmel", "sea": "Meer", "water": "Wasser",
		"sun": "Sonne", "tree": "Baum", "trees": "Bäume", "house": "Haus", "city": "Stadt", "street": "Straße",
		"car": "Auto", "dog": "Hund", "cat": "Katze", "person": "Person", "people": "Leute", "day": "Tag",
		"night": "Nacht", "background": "Hintergrund", "left": "links", "right": "rechts", "top": "oben",
		"bottom": "unten", "center": "Mitte", "one": "eins", "two": "zwei", "three": "drei", "some": "einige",
		"many": "viele", "all": "alle", "has": "hat", "have": "haben", "there": "dort", "here": "hier",
		"good": "gut", "bad": "schlecht", "new": "neu", "old": "alt", "hello": "hallo", "thank you": "danke",
		"please": "bitte", "summary": "Zusammenfassung", "description": "Beschreibung",
	},
}
