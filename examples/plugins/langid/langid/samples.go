package langid

// samples are the texts the language profiles are counted from: the first article of the
// Universal Declaration of Human Rights and a few everyday sentences, in each language.
var samples = []struct{ lang, text string }{
	{"en", `All human beings are born free and equal in dignity and rights. They are endowed with reason and
conscience and should act towards one another in a spirit of brotherhood. The weather is very nice today,
and we would like to go for a walk in the park with our friends. Where is the nearest train station? I think
that this is the best way to learn something new every day. The children were playing in the garden while
their parents were cooking dinner in the kitchen. Could you please tell me what time the shop opens in the
morning? We have been waiting for the results of the meeting since last week.`},
	{"fr", `Tous les êtres humains naissent libres et égaux en dignité et en droits. Ils sont doués de raison
et de conscience et doivent agir les uns envers les autres dans un esprit de fraternité. Le temps est très
beau aujourd'hui, et nous voudrions faire une promenade dans le parc avec nos amis. Où se trouve la gare la
plus proche ? Je pense que c'est la meilleure façon d'apprendre quelque chose de nouveau chaque jour. Les
enfants jouaient dans le jardin pendant que leurs parents préparaient le dîner dans la cuisine. Pourriez-vous
me dire à quelle heure ouvre le magasin le matin ? Nous attendons les résultats de la réunion depuis la
semaine dernière.`},
	{"de", `Alle Menschen sind frei und gleich an Würde und Rechten geboren. Sie sind mit Vernunft und Gewissen
begabt und sollen einander im Geist der Brüderlichkeit begegnen. Das Wetter ist heute sehr schön, und wir
möchten mit unseren Freunden im Park spazieren gehen. Wo ist der nächste Bahnhof? Ich glaube, dass dies der
beste Weg ist, jeden Tag etwas Neues zu lernen. Die Kinder spielten im Garten, während ihre Eltern in der
Küche das Abendessen kochten. Können Sie mir bitte sagen, wann das Geschäft am Morgen öffnet? Wir warten seit
letzter Woche auf die Ergebnisse der Sitzung.`},
	{"es", `Todos los seres humanos nacen libres e iguales en dignidad y derechos y, dotados como están de razón
y conciencia, deben comportarse fraternalmente los unos con los otros. Hoy hace muy buen tiempo y nos
gustaría dar un paseo por el parque con nuestros amigos. ¿Dónde está la estación de tren más cercana? Creo
que esta es la mejor manera de aprender algo nuevo cada día. Los niños jugaban en el jardín mientras sus
padres preparaban la cena en la cocina. ¿Podría decirme a qué hora abre la tienda por la mañana? Estamos
esperando los resultados de la reunión desde la semana pasada.`},
	{"it", `Tutti gli esseri umani nascono liberi ed eguali in dignità e diritti. Essi sono dotati di ragione e
di coscienza e devono agire gli uni verso gli altri in spirito di fratellanza. Oggi il tempo è molto bello e
vorremmo fare una passeggiata nel parco con i nostri amici. Dov'è la stazione ferroviaria più vicina? Penso
che questo sia il modo migliore per imparare qualcosa di nuovo ogni giorno. I bambini giocavano in giardino
mentre i loro genitori preparavano la cena in cucina. Potrebbe dirmi a che ora apre il negozio la mattina?
Aspettiamo i risultati della riunione dalla settimana scorsa.`},
	{"pt", `Todos os seres humanos nascem livres e iguais em dignidade e em direitos. Dotados de razão e de
consciência, devem agir uns para com os outros em espírito de fraternidade. Hoje o tempo está muito bonito e
gostaríamos de dar um passeio no parque com os nossos amigos. Onde fica a estação de comboios mais próxima?
Acho que esta é a melhor maneira de aprender algo novo todos os dias. As crianças brincavam no jardim
enquanto os seus pais preparavam o jantar na cozinha. Pode dizer-me a que horas abre a loja de manhã?
Estamos à espera dos resultados da reunião desde a semana passada. Não sei se ele já chegou, mas vou
perguntar ao senhor que trabalha na recepção.`},
	{"nl", `Alle mensen worden vrij en gelijk in waardigheid en rechten geboren. Zij zijn begiftigd met verstand
en geweten, en behoren zich jegens elkander in een geest van broederschap te gedragen. Het weer is vandaag
erg mooi en we zouden graag met onze vrienden een wandeling in het park maken. Waar is het dichtstbijzijnde
treinstation? Ik denk dat dit de beste manier is om elke dag iets nieuws te leren. De kinderen speelden in de
tuin terwijl hun ouders in de keuken het avondeten kookten. Kunt u mij vertellen hoe laat de winkel 's
ochtends opengaat? We wachten sinds vorige week op de resultaten van de vergadering.`},
	{"sv", `Alla människor är födda fria och lika i värde och rättigheter. De har utrustats med förnuft och
samvete och bör handla gentemot varandra i en anda av broderskap. Vädret är mycket fint idag och vi skulle
vilja ta en promenad i parken med våra vänner. Var ligger närmaste järnvägsstation? Jag tror att det här är
det bästa sättet att lära sig något nytt varje dag. Barnen lekte i trädgården medan deras föräldrar lagade
middag i köket. Kan du säga mig när affären öppnar på morgonen? Vi har väntat på resultaten från mötet sedan
förra veckan.`},
	{"pl", `Wszyscy ludzie rodzą się wolni i równi pod względem swej godności i swych praw. Są oni obdarzeni
rozumem i sumieniem i powinni postępować wobec innych w duchu braterstwa. Pogoda jest dzisiaj bardzo ładna i
chcielibyśmy pójść na spacer do parku z naszymi przyjaciółmi. Gdzie jest najbliższa stacja kolejowa? Myślę,
że to najlepszy sposób, aby każdego dnia nauczyć się czegoś nowego. Dzieci bawiły się w ogrodzie, a ich
rodzice gotowali kolację w kuchni. Czy może mi pan powiedzieć, o której godzinie rano otwierają sklep? Od
zeszłego tygodnia czekamy na wyniki spotkania.`},
}
